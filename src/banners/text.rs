//! What a service's first bytes say: printable escaping for text output, and the service a
//! greeting names (the protocols that speak first).

/// `bytes` as printable ASCII: tab and printable characters as they are, every other byte
/// as `\xNN`, backslash doubled; at most `max` characters of output.
pub fn printable(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes {
        let piece = match b {
            b'\\' => "\\\\".to_string(),
            b'\t' | 0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        };
        if out.len() + piece.len() > max {
            break;
        }
        out.push_str(&piece);
    }
    out
}

/// The first line of `bytes` (without its line ending), printable.
pub fn first_line(bytes: &[u8], max: usize) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = &bytes[..end];
    printable(line.strip_suffix(b"\r").unwrap_or(line), max)
}

/// The service a greeting (what a server says before it is asked anything) names.
pub fn greeting_service(bytes: &[u8]) -> &'static str {
    let starts = |p: &[u8]| bytes.starts_with(p);
    if starts(b"SSH-") {
        "ssh"
    } else if starts(b"220") && contains_ci(bytes, b"ftp") {
        "ftp"
    } else if starts(b"220") {
        "smtp"
    } else if starts(b"+OK") {
        "pop3"
    } else if starts(b"* OK") || starts(b"* PREAUTH") {
        "imap"
    } else if is_mysql_handshake(bytes) {
        "mysql"
    } else if starts(b"-ERR") || starts(b"-NOAUTH") || starts(b"-DENIED") {
        "redis"
    } else if starts(b"HTTP/") {
        "http"
    } else {
        "unknown"
    }
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// MySQL's initial handshake packet: 3-byte length, sequence 0, protocol version 10, then a
/// NUL-terminated server version.
fn is_mysql_handshake(b: &[u8]) -> bool {
    b.len() > 5 && b[3] == 0 && b[4] == 10 && usize::from(b[0]) + 4 <= b.len() + 64
}

/// The server version a MySQL handshake carries.
pub fn mysql_version(b: &[u8]) -> Option<String> {
    if !is_mysql_handshake(b) {
        return None;
    }
    let rest = &b[5..];
    let end = rest.iter().position(|&c| c == 0)?;
    Some(printable(&rest[..end], 64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn greetings_name_their_service() {
        assert_eq!(greeting_service(b"SSH-2.0-OpenSSH_9.6\r\n"), "ssh");
        assert_eq!(greeting_service(b"220 mx.lab ESMTP Postfix\r\n"), "smtp");
        assert_eq!(greeting_service(b"220 (vsFTPd 3.0.5)\r\n"), "ftp");
        assert_eq!(greeting_service(b"+OK Dovecot ready.\r\n"), "pop3");
        assert_eq!(
            greeting_service(b"* OK [CAPABILITY IMAP4rev1] ready\r\n"),
            "imap"
        );
        assert_eq!(
            greeting_service(b"-NOAUTH Authentication required.\r\n"),
            "redis"
        );
        let mysql = b"\x4a\x00\x00\x00\x0a8.0.36\x00\x08\x00\x00\x00";
        assert_eq!(greeting_service(mysql), "mysql");
        assert_eq!(mysql_version(mysql).as_deref(), Some("8.0.36"));
        assert_eq!(greeting_service(b"\x00\x01"), "unknown");
    }

    #[test]
    fn text_is_escaped_and_bounded() {
        assert_eq!(printable(b"a\x00b\xffc\\", 100), "a\\x00b\\xffc\\\\");
        assert_eq!(printable(b"abcdef", 4), "abcd");
        assert_eq!(
            printable(b"ab\x01", 4),
            "ab",
            "an escape is never cut in half"
        );
        assert_eq!(first_line(b"SSH-2.0-x\r\nmore", 100), "SSH-2.0-x");
    }

    proptest! {
        #[test]
        fn any_bytes_are_safe(bytes in proptest::collection::vec(any::<u8>(), 0..300), max in 0usize..400) {
            let p = printable(&bytes, max);
            prop_assert!(p.len() <= max);
            prop_assert!(p.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)));
            let _ = greeting_service(&bytes);
            let _ = mysql_version(&bytes);
        }
    }
}
