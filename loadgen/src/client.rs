//! The client side: one event loop per worker thread (a `Shard`), each owning
//! its share of the keep-alive connections, one request in flight per
//! connection, pre-encoded request bytes, answers parsed as soon as their
//! bytes are in. Open loop (`run_stage`): every connection sends on its own
//! schedule; the loop sleeps in epoll until `spin_ns` before the next intended
//! send (a timerfd wakes it), then spins to the exact time. Closed loop
//! (`run_saturate`): every answer is followed at once by the next request.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::clock::{now_ns, Alarm};
use crate::http1::{parse_response, Parsed};
use crate::schedule::Schedule;
use crate::stats::StageStats;

const ALARM: Token = Token(usize::MAX);
const PENDING: usize = 1 << 40; // tokens of connections still connecting
const CONNECT_BATCH: usize = 256; // modest parallel connects, so the accept queue is not flooded
const CONNECT_TIMEOUT_NS: u64 = 10_000_000_000;
/// How long answers to requests already sent may take after a stage's drain time ends.
const ANSWER_GRACE_NS: u64 = 5_000_000_000;

struct Inflight {
    intended: u64,
    sent: u64,
}

struct Conn {
    stream: TcpStream,
    rbuf: Vec<u8>,
    written: usize, // bytes of the request written; the request's length when done
    inflight: Option<Inflight>,
    dead: bool,
    sched: Schedule,
    next: u64,    // index of the next send in this stage
    total: u64,   // sends scheduled in this stage
    queued: bool, // its next send is in the schedule heap (at most once)
}

pub struct Shard {
    poll: Poll,
    events: Events,
    alarm: Alarm,
    conns: Vec<Conn>,
    req: Vec<u8>,
    spin_ns: u64,
    inflight: usize, // requests sent and not yet answered (or failed)
    live: usize,     // connections not dead
    pub closed_by_server: u64,
    pub connect_failures: u64,
    pub closing: bool,
}

enum Answer {
    None,
    Done,
    Dead,
}

impl Shard {
    pub fn new(req: Vec<u8>, spin_ns: u64) -> io::Result<Shard> {
        let poll = Poll::new()?;
        let alarm = Alarm::new()?;
        poll.registry().register(&mut SourceFd(&alarm.as_raw_fd()), ALARM, Interest::READABLE)?;
        Ok(Shard {
            poll,
            events: Events::with_capacity(1024),
            alarm,
            conns: Vec::new(),
            req,
            spin_ns,
            inflight: 0,
            live: 0,
            closed_by_server: 0,
            connect_failures: 0,
            closing: false,
        })
    }

    pub fn open_connections(&self) -> usize {
        self.live
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Open `count` more keep-alive connections, `CONNECT_BATCH` at a time.
    /// `sources`: local addresses taken in turn from `first_source` (none: the kernel's choice). Each source
    /// address has the whole local port range to itself, so n sources reach n times one address's connections.
    pub fn open(&mut self, addr: SocketAddr, count: usize, sources: &[IpAddr], first_source: usize) {
        let mut remaining = count;
        let mut next_source = first_source;
        while remaining > 0 {
            let batch = remaining.min(CONNECT_BATCH);
            remaining -= batch;
            let mut pending: Vec<Option<TcpStream>> = Vec::with_capacity(batch);
            for k in 0..batch {
                let source = if sources.is_empty() { None } else { Some(sources[next_source % sources.len()]) };
                next_source += 1;
                match connect_from(addr, source) {
                    Ok(mut s) => {
                        if self.poll.registry().register(&mut s, Token(PENDING + k), Interest::WRITABLE).is_ok() {
                            pending.push(Some(s));
                        } else {
                            self.connect_failures += 1;
                            pending.push(None);
                        }
                    }
                    Err(_) => {
                        self.connect_failures += 1;
                        pending.push(None);
                    }
                }
            }
            let mut left = pending.iter().filter(|p| p.is_some()).count();
            let deadline = now_ns() + CONNECT_TIMEOUT_NS;
            while left > 0 && now_ns() < deadline {
                if self.poll.poll(&mut self.events, Some(Duration::from_millis(100))).is_err() {
                    continue;
                }
                let ready: Vec<(usize, bool)> = self
                    .events
                    .iter()
                    .filter(|e| e.token().0 >= PENDING && e.token() != ALARM)
                    .map(|e| (e.token().0 - PENDING, e.is_error()))
                    .collect();
                for (k, error) in ready {
                    let Some(stream) = pending[k].as_ref() else { continue };
                    let state = if error {
                        Err(())
                    } else {
                        match (stream.take_error(), stream.peer_addr()) {
                            (Ok(None), Ok(_)) => Ok(true),
                            (Ok(None), Err(e)) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                            _ => Err(()),
                        }
                    };
                    match state {
                        Ok(false) => {} // not yet
                        Ok(true) => {
                            let mut s = pending[k].take().expect("checked above");
                            let _ = s.set_nodelay(true);
                            let token = Token(self.conns.len());
                            let registered = self.poll.registry().deregister(&mut s).is_ok()
                                && self.poll.registry().register(&mut s, token, Interest::READABLE | Interest::WRITABLE).is_ok();
                            if registered {
                                self.conns.push(Conn {
                                    stream: s,
                                    rbuf: Vec::with_capacity(512),
                                    written: 0,
                                    inflight: None,
                                    dead: false,
                                    sched: Schedule { period_ns: 1.0, phase_ns: 0.0 },
                                    next: 0,
                                    total: 0,
                                    queued: false,
                                });
                                self.live += 1;
                            } else {
                                self.connect_failures += 1;
                            }
                            left -= 1;
                        }
                        Err(()) => {
                            pending[k] = None;
                            self.connect_failures += 1;
                            left -= 1;
                        }
                    }
                }
            }
            self.connect_failures += pending.iter().filter(|p| p.is_some()).count() as u64; // timed out
        }
    }

    /// Give every connection its schedule for the next stage (in connection order).
    pub fn set_schedules(&mut self, schedules: &[Schedule], stage_len_ns: u64) {
        for (c, s) in self.conns.iter_mut().zip(schedules) {
            c.sched = *s;
            c.next = 0;
            c.total = s.sends_within(stage_len_ns);
        }
    }

    /// One open-loop stage from `start` for `len_ns`; sends still due more than
    /// `drain_ns` after its end are abandoned and counted as unsent. Returns when
    /// every answer is in (or given up): the stage's real end.
    pub fn run_stage(&mut self, start: u64, len_ns: u64, drain_ns: u64, late_ns: u64, stats: &mut StageStats) -> u64 {
        let hard_end = start + len_ns + drain_ns;
        let mut due: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::with_capacity(self.conns.len());
        for i in 0..self.conns.len() {
            self.conns[i].queued = false;
            enqueue(&mut due, &mut self.conns[i], i, start);
        }
        loop {
            let now = self.fire_due(&mut due, start, hard_end, late_ns, stats);
            if due.is_empty() && self.inflight == 0 {
                return now.max(start + len_ns);
            }
            if self.inflight > 0 && now > hard_end + ANSWER_GRACE_NS {
                for i in 0..self.conns.len() {
                    if self.conns[i].inflight.is_some() {
                        self.kill(i, stats); // an answer that never came
                    }
                }
                continue; // their remaining sends now fall past the hard end: counted unsent
            }
            let timeout = match due.peek() {
                Some(&Reverse((at, _))) if at > now + self.spin_ns => {
                    self.alarm.arm_at(at - self.spin_ns);
                    Duration::from_millis(100) // the alarm ends the wait long before this
                }
                Some(_) => Duration::ZERO, // spin: look at the sockets without sleeping
                None => Duration::from_millis(10),
            };
            if self.poll.poll(&mut self.events, Some(timeout)).is_err() {
                continue;
            }
            let tokens: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
            for token in tokens {
                if token == ALARM {
                    self.alarm.clear();
                    continue;
                }
                let i = token.0;
                self.service(i, stats);
                enqueue(&mut due, &mut self.conns[i], i, start);
                // a burst of answers must not hold back a send that fell due meanwhile
                self.fire_due(&mut due, start, hard_end, late_ns, stats);
            }
        }
    }

    /// Send every request whose intended time has come; returns the time after the last send.
    fn fire_due(
        &mut self,
        due: &mut BinaryHeap<Reverse<(u64, usize)>>,
        start: u64,
        hard_end: u64,
        late_ns: u64,
        stats: &mut StageStats,
    ) -> u64 {
        let mut now = now_ns();
        while let Some(&Reverse((at, i))) = due.peek() {
            if at > now {
                break;
            }
            due.pop();
            let c = &mut self.conns[i];
            c.queued = false;
            if now > hard_end {
                stats.counters.unsent += c.total - c.next; // the late tail of an overloaded server
                c.next = c.total;
                continue;
            }
            c.next += 1;
            if c.dead {
                stats.record_dead_send(); // its connection is gone: failed at its intended time
            } else {
                let sent = now_ns();
                stats.record_send(sent - at, late_ns);
                c.inflight = Some(Inflight { intended: at, sent });
                c.written = 0;
                self.inflight += 1;
                if write_request(c, &self.req).is_err() {
                    self.kill(i, stats);
                }
                now = sent;
            }
            enqueue(due, &mut self.conns[i], i, start);
        }
        now
    }

    /// Closed loop until the last of `windows` (end times): each answer is followed at
    /// once by the next request. Returns the requests answered in each window; calls
    /// `at_boundary(k)` as window k ends, so that the server can be read in step.
    pub fn run_saturate(&mut self, windows: &[u64], stats: &mut StageStats, at_boundary: &dyn Fn(usize)) -> Vec<u64> {
        let until = *windows.last().expect("at least one window");
        let mut per_window = Vec::with_capacity(windows.len());
        let mut ok_before = 0;
        for i in 0..self.conns.len() {
            self.send_now(i, stats);
        }
        loop {
            let now = now_ns();
            while per_window.len() < windows.len() && now >= windows[per_window.len()] {
                per_window.push(stats.counters.ok - ok_before);
                ok_before = stats.counters.ok;
                at_boundary(per_window.len() - 1);
            }
            if self.inflight == 0 && (now >= until || self.live == 0) {
                per_window.resize(windows.len(), 0);
                return per_window;
            }
            if now > until + ANSWER_GRACE_NS {
                for i in 0..self.conns.len() {
                    if self.conns[i].inflight.is_some() {
                        self.kill(i, stats);
                    }
                }
                per_window.resize(windows.len(), 0);
                return per_window;
            }
            // spin: the generator has its own CPU, and a sleep costs a wake-up per answer
            if self.poll.poll(&mut self.events, Some(Duration::ZERO)).is_err() {
                continue;
            }
            let tokens: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
            for token in tokens {
                if token == ALARM {
                    self.alarm.clear();
                    continue;
                }
                let i = token.0;
                if let Answer::Done = self.service(i, stats) {
                    if now_ns() < until {
                        self.send_now(i, stats);
                    }
                }
            }
        }
    }

    fn send_now(&mut self, i: usize, stats: &mut StageStats) {
        let c = &mut self.conns[i];
        if c.dead {
            return;
        }
        let sent = now_ns();
        stats.counters.sent += 1;
        c.inflight = Some(Inflight { intended: sent, sent });
        c.written = 0;
        self.inflight += 1;
        if write_request(c, &self.req).is_err() {
            self.kill(i, stats);
        }
    }

    /// Everything the socket has for connection `i`: finish a pending write,
    /// read what arrived, complete its answer if it is all there.
    fn service(&mut self, i: usize, stats: &mut StageStats) -> Answer {
        let c = &mut self.conns[i];
        if c.dead {
            return Answer::None;
        }
        if c.written < self.req.len() && c.inflight.is_some() && write_request(c, &self.req).is_err() {
            self.kill(i, stats);
            return Answer::Dead;
        }
        let eof = match read_available(c) {
            Ok(eof) => eof,
            Err(_) => {
                self.kill(i, stats);
                return Answer::Dead;
            }
        };
        let mut answer = Answer::None;
        if !c.rbuf.is_empty() {
            match parse_response(&c.rbuf) {
                Parsed::Incomplete => {}
                Parsed::Complete { len, status, close } => {
                    let done = now_ns();
                    let ok = status == 200;
                    match c.inflight.take() {
                        Some(f) => {
                            stats.record_response(ok, done - f.intended, done - f.sent);
                            self.inflight -= 1;
                            answer = Answer::Done;
                        }
                        None => {
                            self.kill(i, stats); // an answer nobody asked for
                            return Answer::Dead;
                        }
                    }
                    c.rbuf.drain(..len);
                    if !c.rbuf.is_empty() || close {
                        // more than one answer per request, or a server that announced its close
                        self.kill(i, stats);
                        return answer;
                    }
                }
                Parsed::Invalid(_) => {
                    self.kill(i, stats);
                    return Answer::Dead;
                }
            }
        }
        if eof {
            self.kill(i, stats);
            if matches!(answer, Answer::None) {
                return Answer::Dead;
            }
        }
        answer
    }

    /// Connection `i` is finished: its request in flight failed; a close we did
    /// not ask for is counted as closed by the server.
    fn kill(&mut self, i: usize, stats: &mut StageStats) {
        let c = &mut self.conns[i];
        if c.dead {
            return;
        }
        if c.inflight.take().is_some() {
            stats.record_response(false, 0, 0);
            self.inflight -= 1;
        }
        c.dead = true;
        self.live -= 1;
        let _ = self.poll.registry().deregister(&mut c.stream);
        let _ = c.stream.shutdown(std::net::Shutdown::Both);
        if !self.closing {
            self.closed_by_server += 1;
        }
    }
}

/// A non-blocking connect to `addr`, from `source` when given. IP_BIND_ADDRESS_NO_PORT lets the kernel
/// pick the port at connect time for the (source, destination) pair, as it does without a bind: a bind to
/// port 0 alone would reserve a port per socket across all destinations and run out at the same ~28k.
fn connect_from(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let Some(source) = source else { return TcpStream::connect(addr) };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a socket this function owns, with a pointer to a local int and its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    socket.bind(&SockAddr::from(SocketAddr::new(source, 0)))?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// Put connection `i`'s next send in the heap if it is idle and has one left (never twice).
fn enqueue(due: &mut BinaryHeap<Reverse<(u64, usize)>>, c: &mut Conn, i: usize, start: u64) {
    if !c.queued && c.inflight.is_none() && c.next < c.total {
        due.push(Reverse((start + c.sched.intended(c.next), i)));
        c.queued = true;
    }
}

fn write_request(c: &mut Conn, req: &[u8]) -> io::Result<()> {
    while c.written < req.len() {
        match c.stream.write(&req[c.written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => c.written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()), // the rest on WRITABLE
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Read what the socket holds; Ok(true) at end of stream. The events are edge-triggered,
/// so the socket must be drained: a read shorter than the buffer did drain it (any byte
/// that arrives later raises a new edge), which saves the read that would only say
/// EAGAIN — one syscall in three per request.
fn read_available(c: &mut Conn) -> io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match c.stream.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) if n < chunk.len() => {
                c.rbuf.extend_from_slice(&chunk[..n]);
                return Ok(false);
            }
            Ok(n) => c.rbuf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
