//! A host that answers every port (a SYN proxy, a scrubbing service, a tarpit), as text every
//! document shows: one line in the table, `-oN` and nmap's XML (a host script, which nmap's
//! readers show as they show nmap's own), and nmap's "Ignored State" field in grepable output
//! (the state of the ports not listed, and about how many there were).

use crate::event::AnswersAllResult;

/// `answers on every tcp port probed: 100 open shown of about 2000 probed`.
pub fn line(a: &AnswersAllResult) -> String {
    format!(
        "answers on every {} port probed: {} open shown of about {} probed",
        a.proto.as_str(),
        a.listed,
        a.probed
    )
}

/// The id of its `<script>` in nmap's XML.
pub const SCRIPT_ID: &str = "answers-all";

/// Its grepable field: the open ports not listed, about.
pub fn ignored_state(a: &AnswersAllResult) -> String {
    format!(
        "Ignored State: open ({})",
        a.probed.saturating_sub(u64::from(a.listed))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Proto;

    #[test]
    fn says_what_was_shown_of_what_was_probed() {
        let a = AnswersAllResult {
            ip: "198.18.0.2".parse().unwrap(),
            proto: Proto::Tcp,
            listed: 100,
            probed: 2000,
            ts: 0.0,
        };
        assert_eq!(
            line(&a),
            "answers on every tcp port probed: 100 open shown of about 2000 probed"
        );
        assert_eq!(ignored_state(&a), "Ignored State: open (1900)");
        let odd = AnswersAllResult { probed: 3, ..a };
        assert_eq!(ignored_state(&odd), "Ignored State: open (0)");
    }
}
