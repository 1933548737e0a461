//! Just enough HTTP/1.1 for banners: a GET with a Host header, and the response's status,
//! headers and body (dechunked, bounded). Heads are parsed by `httparse`.

use super::text::printable;

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
        self.body
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    }
}

/// Parses a response read to its end (or to the byte limit). None if it is not HTTP.
pub fn parse(bytes: &[u8]) -> Option<Response> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return None,
    };
    let status = r.code?;
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| (h.name.to_string(), printable(h.value, 256)))
        .collect();
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &bytes[head_len..];
    resp.body = if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        dechunk(rest)
    } else {
        let len = resp
            .header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest[..len.min(rest.len())].to_vec()
    };
    Some(resp)
}

/// The chunks of a chunked body, as far as they are complete.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size_text = std::str::from_utf8(&b[..eol]).unwrap_or("");
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = eol + 2;
        if size == 0 || start + size > b.len() {
            out.extend_from_slice(&b[start.min(b.len())..(start + size).min(b.len())]);
            break;
        }
        out.extend_from_slice(&b[start..start + size]);
        b = b.get(start + size + 2..).unwrap_or(&[]);
    }
    out
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

    proptest! {
        #[test]
        fn any_bytes_are_safe(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
            let _ = title(&bytes);
            let _ = dechunk(&bytes);
            let mut http = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            http.extend_from_slice(&bytes);
            let _ = parse(&http);
        }
    }
}
