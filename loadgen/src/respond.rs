//! The reference responder: part of the instrument, not a fourth runtime. It
//! does nothing but answer — the same response bytes the servers send
//! (status, Content-Type, Content-Length: 13, Date, Server, "Hello, World!") —
//! on an event loop as lean as the load generator's, so that the load
//! generator measured against it shows the instrument's own floor: its send
//! lag and the latency that loopback and the two event loops add by themselves.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

pub const BODY: &[u8] = b"Hello, World!";
const LISTENER: Token = Token(usize::MAX);

/// The answer to GET /, with the current second's Date (refreshed by the caller once a second).
pub fn response(date: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nServer: loadgen-respond\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nDate: {date}\r\n\r\n",
        BODY.len()
    )
    .into_bytes();
    r.extend_from_slice(BODY);
    r
}

/// Complete requests at the start of `buf` (GET without a body): how many bytes they take and how many there are.
pub fn complete_requests(buf: &[u8]) -> Result<(usize, usize), ()> {
    let mut at = 0;
    let mut n = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[at..]) {
            Ok(httparse::Status::Complete(len)) => {
                let body: usize = req
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() < at + len + body {
                    return Ok((at, n));
                }
                at += len + body;
                n += 1;
            }
            Ok(httparse::Status::Partial) => return Ok((at, n)),
            Err(_) => return Err(()),
        }
    }
}

struct Peer {
    stream: TcpStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
}

/// Serve on `listener` until `stop`; returns the requests answered.
pub fn serve(listener: std::net::TcpListener, stop: Arc<AtomicBool>, served: Arc<AtomicU64>) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut second = 0u64;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while !stop.load(Relaxed) {
        let now = SystemTime::now();
        let s = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if s != second {
            second = s;
            answer = response(&httpdate::fmt_http_date(now));
        }
        if poll.poll(&mut events, Some(Duration::from_millis(100))).is_err() {
            continue;
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    let slot = peers.iter().position(|p| p.is_none()).unwrap_or(peers.len());
                    if poll.registry().register(&mut stream, Token(slot), Interest::READABLE | Interest::WRITABLE).is_ok() {
                        let peer = Peer { stream, rbuf: Vec::with_capacity(512), wbuf: Vec::new() };
                        if slot == peers.len() {
                            peers.push(Some(peer));
                        } else {
                            peers[slot] = Some(peer);
                        }
                    }
                }
                continue;
            }
            let slot = event.token().0;
            let Some(peer) = peers.get_mut(slot).and_then(|p| p.as_mut()) else { continue };
            let mut closed = false;
            loop {
                match peer.stream.read(&mut chunk) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => {
                        peer.rbuf.extend_from_slice(&chunk[..n]);
                        if n < chunk.len() {
                            break; // drained: a later byte raises a new edge
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            match complete_requests(&peer.rbuf) {
                Ok((used, n)) => {
                    peer.rbuf.drain(..used);
                    for _ in 0..n {
                        peer.wbuf.extend_from_slice(&answer);
                    }
                    served.fetch_add(n as u64, Relaxed);
                }
                Err(()) => closed = true,
            }
            while !closed && !peer.wbuf.is_empty() {
                match peer.stream.write(&peer.wbuf) {
                    Ok(n) => {
                        peer.wbuf.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => closed = true,
                }
            }
            if closed {
                let mut peer = peers[slot].take().expect("present");
                let _ = poll.registry().deregister(&mut peer.stream);
            }
        }
    }
    Ok(())
}

/// `workers` listeners on one port (SO_REUSEPORT), so each worker thread accepts its own share.
pub fn listeners(host: &str, port: u16, workers: usize) -> io::Result<(Vec<std::net::TcpListener>, u16)> {
    use socket2::{Domain, Socket, Type};
    let mut out = Vec::new();
    let mut bound = port;
    for _ in 0..workers {
        let addr: SocketAddr = format!("{host}:{bound}").parse().map_err(|_| io::Error::other("bad host"))?;
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        socket.listen(4096)?;
        let listener: std::net::TcpListener = socket.into();
        bound = listener.local_addr()?.port();
        out.push(listener);
    }
    Ok((out, bound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::{parse_response, Parsed};

    #[test]
    fn the_answer_is_what_the_servers_send() {
        let r = response("Sat, 28 Nov 2026 10:00:00 GMT");
        assert_eq!(parse_response(&r), Parsed::Complete { len: r.len(), status: 200, close: false });
        let text = String::from_utf8(r).unwrap();
        assert!(text.contains("Content-Length: 13\r\n") && text.contains("Content-Type: text/plain"));
        assert!(text.contains("Server: ") && text.ends_with("\r\n\r\nHello, World!"));
    }

    #[test]
    fn requests_are_counted_whole_and_pipelined() {
        let one = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut two = one.to_vec();
        two.extend_from_slice(one);
        assert_eq!(complete_requests(&two), Ok((two.len(), 2)));
        assert_eq!(complete_requests(&two[..one.len() + 5]), Ok((one.len(), 1)));
        assert_eq!(complete_requests(b"\x00\x01garbage\r\n\r\n"), Err(()));
    }

    #[test]
    fn serves_over_a_real_socket() {
        let (mut ls, port) = listeners("127.0.0.1", 0, 1).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let (s2, n2) = (stop.clone(), served.clone());
        let l = ls.pop().unwrap();
        let t = std::thread::spawn(move || serve(l, s2, n2));
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        for _ in 0..3 {
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !matches!(parse_response(&buf), Parsed::Complete { .. }) {
                let n = c.read(&mut chunk).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            }
        }
        stop.store(true, Relaxed);
        t.join().unwrap().unwrap();
        assert_eq!(served.load(Relaxed), 3);
    }
}
