//! The forms users type from nmap and masscan, rewritten to the long options clap knows, and
//! the ones synsweep answers with a pointer to what it offers instead.

/// Rewrites nmap-style options to the long forms clap knows, and `synsweep bench …` to
/// `synsweep --offline …`.
pub fn normalize_args<I: IntoIterator<Item = String>>(args: I) -> Vec<String> {
    let mut after_nmap = false;
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            // `--nmap -sV` is nmap's -sV, not ours (the shell took the quotes away).
            if std::mem::replace(&mut after_nmap, a == "--nmap") {
                return a;
            }
            normalize_one(i, a)
        })
        .collect()
}

fn normalize_one(i: usize, a: String) -> String {
    match a.as_str() {
        "bench" if i == 1 => "--offline".into(),
        "-iL" => "--input-list".into(),
        "-oJ" => "--output-json".into(),
        "-oD" => "--output-ndjson".into(),
        "-oG" => "--output-grepable".into(),
        "-oX" => "--output-xml".into(),
        "-oN" => "--output-normal".into(),
        "-oL" => "--output-list".into(),
        "-oP" => "--output-plain".into(),
        "-oA" => "--output-all".into(),
        "-p-" => "--ports=-".into(),
        "-PE" => "--ping".into(),
        "-Pn" => "--skip-host-discovery".into(),
        s if s.len() == 3 && s.starts_with("-T") && s.as_bytes()[2].is_ascii_digit() => {
            format!("--timing={}", &s[2..])
        }
        s if s.len() == 3 && s.starts_with("-s") && !is_habit(s) => {
            format!("--scan-type={}", &s[2..])
        }
        _ => a,
    }
}

/// nmap's version, script and OS detection: not synsweep's, but it can hand the open ports
/// to nmap.
const HABITS: &[(&str, &str)] = &[
    ("-sV", "version detection"),
    ("-sC", "scripts"),
    ("-A", "version, script and OS detection"),
    ("-O", "OS detection"),
];

fn is_habit(a: &str) -> bool {
    HABITS.iter().any(|(f, _)| *f == a)
}

/// One line for the first nmap option synsweep does not take but answers otherwise.
pub fn habit_error(args: &[String]) -> Option<String> {
    let (flag, what) = args
        .iter()
        .enumerate()
        .take_while(|(_, a)| *a != "--")
        // The value of --nmap is nmap's own: `--nmap -sV` is what the pointer points to.
        .filter(|&(i, _)| i == 0 || args[i - 1] != "--nmap")
        .find_map(|(_, a)| HABITS.iter().find(|(f, _)| f == a))?;
    Some(format!(
        "{flag}: synsweep does no {what} of its own; --banners asks every open port what it \
         is, and --nmap \"{flag}\" runs nmap on the open ports after the scan"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(a: &[&str]) -> Vec<String> {
        normalize_args(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn nmap_and_masscan_forms_become_long_options() {
        assert_eq!(
            norm(&["synsweep", "-T4", "-Pn", "-oA", "b", "-sU", "-oN", "n"]),
            [
                "synsweep",
                "--timing=4",
                "--skip-host-discovery",
                "--output-all",
                "b",
                "--scan-type=U",
                "--output-normal",
                "n"
            ]
        );
        // Only what is a form is rewritten: -Tx is no template.
        assert_eq!(norm(&["synsweep", "-Tx"]), ["synsweep", "-Tx"]);
        assert_eq!(norm(&["synsweep", "-sV"]), ["synsweep", "-sV"]);
    }

    #[test]
    fn detection_options_get_a_pointer_not_a_parse_error() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = habit_error(&a(&["-p", "22", "-sV", "198.18.0.1"])).unwrap();
        assert!(e.starts_with("-sV: ") && e.contains("--banners"), "{e}");
        assert!(habit_error(&a(&["-sS", "198.18.0.1"])).is_none());
        assert!(habit_error(&a(&["--", "-O"])).is_none());
    }
}
