//! Just enough HTTP/1.1 for banners: a GET with a Host header, and the response's status,
//! headers and body (dechunked, bounded). Heads are parsed by `httparse`.
//!
//! Everything here reads what a server chose to send: every length from the wire is checked
//! before it is added to an offset, and the head, its headers and the body have caps.

use super::text::printable;

/// The most headers a head may have (more: not a banner worth parsing).
pub const MAX_HEADERS: usize = 64;
/// The longest head (status line and headers) looked at.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most body kept, dechunked or not.
pub const MAX_BODY: usize = 64 * 1024;
/// Hex digits a chunk size may have: 16 hold any u64, more is a hostile length.
const MAX_SIZE_DIGITS: usize = 16;

pub fn get(host: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: synsweep/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn body_contains(&self, needle: &str) -> bool {
        let needle = needle.as_bytes();
        if needle.is_empty() {
            return true;
        }
        self.body
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    }
}

/// Parses a response read to its end (or to the byte limit). None if it is not HTTP.
pub fn parse(bytes: &[u8]) -> Option<Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(&bytes[..bytes.len().min(MAX_HEAD)]) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return None,
    };
    let status = r.code?;
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| (printable(h.name.as_bytes(), 64), printable(h.value, 256)))
        .collect();
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = bytes.get(head_len..).unwrap_or(&[]);
    resp.body = if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        dechunk(rest, MAX_BODY)
    } else {
        let len = resp
            .header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest[..len.min(rest.len()).min(MAX_BODY)].to_vec()
    };
    Some(resp)
}

/// The chunks of a chunked body, as far as they are complete, at most `cap` bytes. A chunk
/// size is never added to an offset before it is known to fit what was read: a size of
/// `ffffffffffffffff` once wrapped `start + size` and panicked.
fn dechunk(mut b: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < cap {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let Some(size) = chunk_size(&b[..eol]) else {
            break;
        };
        let data = &b[eol + 2..];
        let whole = size <= data.len();
        let take = size.min(data.len()).min(cap - out.len());
        out.extend_from_slice(&data[..take]);
        if size == 0 || !whole {
            break;
        }
        // size <= data.len(), so this cannot overflow.
        b = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}

/// A chunk-size line (`1a;ext=x`): its hex size, None if it is not one or does not fit.
fn chunk_size(line: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(line).ok()?;
    let hex = text.split(';').next()?.trim();
    if hex.is_empty() || hex.len() > MAX_SIZE_DIGITS || !hex.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return None;
    }
    usize::try_from(u64::from_str_radix(hex, 16).ok()?).ok()
}

/// The page's `<title>`, whitespace collapsed, printable, at most 128 characters.
pub fn title(body: &[u8]) -> Option<String> {
    let lower: Vec<u8> = body.iter().map(u8::to_ascii_lowercase).collect();
    let open = lower.windows(6).position(|w| w == b"<title")?;
    let start = open + lower[open..].iter().position(|&c| c == b'>')? + 1;
    let len = lower[start..].windows(8).position(|w| w == b"</title>")?;
    let raw = &body[start..start + len];
    let words: Vec<&[u8]> = raw
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(&b' ');
    (!joined.is_empty()).then(|| printable(&joined, 128))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn responses_parse_with_lengths_and_chunks() {
        let r =
            parse(b"HTTP/1.1 200 OK\r\nServer: lab/1\r\nContent-Length: 5\r\n\r\nhello, and more")
                .unwrap();
        assert_eq!(
            (r.status, r.header("server"), &r.body[..]),
            (200, Some("lab/1"), &b"hello"[..])
        );
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=1\r\npedia\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, b"Wikipedia");
        assert!(parse(b"SSH-2.0-x\r\n").is_none());
        assert!(
            parse(b"HTTP/1.1 200 OK\r\nServer: x").is_none(),
            "a head cut short"
        );
    }

    #[test]
    fn titles_are_found_and_cleaned() {
        assert_eq!(
            title(b"<html><TITLE lang=en>\n  Jupyter\tServer </title>").as_deref(),
            Some("Jupyter Server")
        );
        assert_eq!(title(b"<title></title>"), None);
        assert_eq!(title(b"no title"), None);
    }

    #[test]
    fn the_request_names_the_host() {
        let r = String::from_utf8(get("web.lab", "/api/tags")).unwrap();
        assert!(r.starts_with("GET /api/tags HTTP/1.1\r\nHost: web.lab\r\n"));
        assert!(r.ends_with("Connection: close\r\n\r\n"));
    }

    /// Found by the issue, not by the random-bytes test: the size wrapped `start + size`.
    #[test]
    fn regression_a_chunk_size_of_all_ones_does_not_wrap() {
        let r =
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc")
                .unwrap();
        assert_eq!(
            r.body, b"abc",
            "what came is kept, the size is not believed"
        );
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\nfffffffffffffffff\r\nx")
            .unwrap();
        assert_eq!(r.body, b"Wiki", "17 digits is no size");
        assert_eq!(chunk_size(b"+1"), None, "only hex digits");
        assert_eq!(chunk_size(b"1A;name=v"), Some(26));
    }

    #[test]
    fn bodies_and_heads_are_capped() {
        let mut endless = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        while endless.len() < 3 * MAX_BODY {
            endless.extend_from_slice(b"400\r\n");
            endless.extend(std::iter::repeat_n(b'a', 0x400));
            endless.extend_from_slice(b"\r\n");
        }
        assert_eq!(parse(&endless).unwrap().body.len(), MAX_BODY);
        let mut long = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n".to_vec();
        long.extend(std::iter::repeat_n(b'a', 2 * MAX_BODY));
        assert_eq!(parse(&long).unwrap().body.len(), MAX_BODY);
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..MAX_HEADERS + 1 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(
            parse(&many).is_none(),
            "too many headers: not parsed as HTTP"
        );
        let mut huge = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        huge.extend_from_slice(b"\r\n\r\n");
        assert!(parse(&huge).is_none(), "a head past the cap is not parsed");
        assert!(root_with(b"").body_contains(""));
    }

    fn root_with(body: &[u8]) -> Response {
        Response {
            status: 200,
            headers: vec![],
            body: body.to_vec(),
        }
    }

    /// A valid head, then a chunked body whose sizes and separators are mutated: sizes near
    /// the integer limits, extensions, missing CRLFs, short data.
    fn chunked_body() -> impl Strategy<Value = Vec<u8>> {
        let size = prop_oneof![
            Just("ffffffffffffffff".to_string()),
            Just("7fffffffffffffff".to_string()),
            Just("10000000000000000".to_string()),
            Just("0".to_string()),
            (0u64..0x200).prop_map(|n| format!("{n:x}")),
            any::<u64>().prop_map(|n| format!("{n:x}")),
            "[0-9a-fA-F;=x -]{0,20}",
        ];
        let chunk = (
            size,
            proptest::collection::vec(any::<u8>(), 0..80),
            any::<bool>(),
        )
            .prop_map(|(size, data, crlf)| {
                let mut c = size.into_bytes();
                c.extend_from_slice(b"\r\n");
                c.extend_from_slice(&data);
                if crlf {
                    c.extend_from_slice(b"\r\n");
                }
                c
            });
        proptest::collection::vec(chunk, 0..8).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(512)))]
        #[test]
        fn any_bytes_are_safe(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
            let _ = title(&bytes);
            prop_assert!(dechunk(&bytes, 100).len() <= 100);
            let mut http = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            http.extend_from_slice(&bytes);
            let _ = parse(&http);
        }

        #[test]
        fn mutated_chunked_bodies_are_safe_and_bounded(
            body in chunked_body(),
            cap in 0usize..200,
            server in "[ -~]{0,40}",
        ) {
            let mut http = format!(
                "HTTP/1.1 200 OK\r\nServer: {server}\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .into_bytes();
            http.extend_from_slice(&body);
            let r = parse(&http);
            prop_assert!(r.is_some(), "a valid head always parses");
            prop_assert!(r.is_some_and(|r| r.body.len() <= body.len().min(MAX_BODY)));
            prop_assert!(dechunk(&body, cap).len() <= cap);
        }

        #[test]
        fn mutated_heads_are_safe(
            lines in proptest::collection::vec("[ -~]{0,30}", 0..80),
            length in any::<u64>(),
        ) {
            let mut http = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n").into_bytes();
            for l in &lines {
                http.extend_from_slice(l.as_bytes());
                http.extend_from_slice(b"\r\n");
            }
            http.extend_from_slice(b"\r\nbody");
            if let Some(r) = parse(&http) {
                prop_assert!(r.headers.len() <= MAX_HEADERS);
                prop_assert!(r.body.len() <= http.len().min(MAX_BODY));
                prop_assert!(r.headers.iter().all(|(n, v)| n.len() <= 64 && v.len() <= 256));
            }
        }
    }
}
