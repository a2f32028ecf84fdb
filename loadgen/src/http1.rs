//! The HTTP/1.1 wire, kept lean: the request is encoded once and written as
//! bytes; an answer is parsed with httparse (the parser hyper uses) as soon as
//! its bytes are in, with Content-Length or chunked bodies. Every check the
//! previous hyper client made is kept: the status, the whole body, and whether
//! the server means to close the connection.

pub fn request(host: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Incomplete,
    /// One whole response of `len` bytes.
    Complete { len: usize, status: u16, close: bool },
    /// Not an HTTP/1.1 response we can frame (the connection is unusable).
    Invalid(String),
}

const MAX_HEADERS: usize = 32;

pub fn parse_response(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Partial) => return Parsed::Incomplete,
        Ok(httparse::Status::Complete(n)) => n,
        Err(e) => return Parsed::Invalid(format!("malformed response head: {e}")),
    };
    let status = resp.code.unwrap_or(0);
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut close = false;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse().ok()) {
                Some(n) => length = Some(n),
                None => return Parsed::Invalid("bad Content-Length".into()),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h.value.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.windows(5).any(|w| w.eq_ignore_ascii_case(b"close"));
        }
    }
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return Parsed::Complete { len: head_len, status, close };
    }
    if chunked {
        return match chunked_len(&buf[head_len..]) {
            Ok(Some(body)) => Parsed::Complete { len: head_len + body, status, close },
            Ok(None) => Parsed::Incomplete,
            Err(e) => Parsed::Invalid(e),
        };
    }
    match length {
        Some(n) if buf.len() >= head_len + n => Parsed::Complete { len: head_len + n, status, close },
        Some(_) => Parsed::Incomplete,
        None => Parsed::Invalid("response without Content-Length or chunked body on a kept-alive connection".into()),
    }
}

/// Length of a complete chunked body (chunks, the last-chunk and an empty trailer), if all there.
fn chunked_len(body: &[u8]) -> Result<Option<usize>, String> {
    let mut at = 0;
    loop {
        match httparse::parse_chunk_size(&body[at..]) {
            Ok(httparse::Status::Partial) => return Ok(None),
            Ok(httparse::Status::Complete((used, size))) => {
                at += used;
                if size == 0 {
                    // trailer section: ends with an empty line
                    return match body[at..].windows(2).position(|w| w == b"\r\n") {
                        Some(0) => Ok(Some(at + 2)),
                        Some(_) => match body[at..].windows(4).position(|w| w == b"\r\n\r\n") {
                            Some(p) => Ok(Some(at + p + 4)),
                            None => Ok(None),
                        },
                        None => Ok(None),
                    };
                }
                let need = at + size as usize + 2;
                if body.len() < need {
                    return Ok(None);
                }
                if &body[need - 2..need] != b"\r\n" {
                    return Err("chunk not followed by CRLF".into());
                }
                at = need;
            }
            Err(_) => return Err("bad chunk size".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

    #[test]
    fn a_whole_response_and_every_prefix_of_it() {
        assert_eq!(parse_response(OK), Parsed::Complete { len: OK.len(), status: 200, close: false });
        for cut in 0..OK.len() {
            assert_eq!(parse_response(&OK[..cut]), Parsed::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn status_connection_close_and_what_follows() {
        let resp = b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1";
        assert_eq!(parse_response(resp), Parsed::Complete { len: resp.len() - 8, status: 503, close: true });
    }

    #[test]
    fn chunked_bodies() {
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8\r\n, World!\r\n0\r\n\r\n";
        assert_eq!(parse_response(resp), Parsed::Complete { len: resp.len(), status: 200, close: false });
        assert_eq!(parse_response(&resp[..resp.len() - 1]), Parsed::Incomplete);
    }

    #[test]
    fn unframed_or_garbled_answers_are_invalid() {
        assert!(matches!(parse_response(b"HTTP/1.1 200 OK\r\n\r\nbody"), Parsed::Invalid(_)));
        assert!(matches!(parse_response(b"SMTP ready\r\n\r\n"), Parsed::Invalid(_)));
        assert!(matches!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), Parsed::Invalid(_)));
    }

    #[test]
    fn the_request_is_minimal_http11() {
        assert_eq!(request("127.0.0.1:80"), b"GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n".to_vec());
    }
}
