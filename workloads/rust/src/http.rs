use std::convert::Infallible;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::stats::proc_status_bytes;

const HELLO: &str = "Hello, World!";
static SERVED: AtomicI64 = AtomicI64::new(0);
static WORK: AtomicU64 = AtomicU64::new(0); // rounds of the work function per request (--work)

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/" || (req.method() != Method::GET && req.method() != Method::HEAD) {
        let mut not_found = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        return Ok(not_found);
    }
    let n = SERVED.fetch_add(1, Relaxed) + 1;
    let rounds = WORK.load(Relaxed);
    let mut response = Response::builder();
    if rounds > 0 && crate::work::work(n as u64, rounds) == 0 {
        response = response.header("x-work", "0"); // never true: the work cannot be dropped
    }
    // hyper adds the Date header itself (cached, refreshed every second).
    Ok(response
        .header(SERVER, "hyper")
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(CONTENT_LENGTH, HELLO.len())
        .body(Full::new(Bytes::from_static(HELLO.as_bytes())))
        .expect("static response is valid"))
}

/// hyper 1.x HTTP/1.1 server, one tokio task per connection. No timer is
/// installed and the header-read timeout is disabled, so hyper never closes
/// an idle keep-alive connection.
pub async fn run(port: u16, work: u64) -> Result<Value, crate::Failure> {
    WORK.store(work, Relaxed);
    // loopback unless WORKLOAD_LISTEN names an address that load generators on other hosts reach
    let host = std::env::var("WORKLOAD_LISTEN").ok().filter(|h| !h.is_empty()).unwrap_or("127.0.0.1".into());
    let listener = TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| crate::Failure::Env(format!("cannot listen on port {port} of {host}: {e}")))?;
    let bound = listener.local_addr().map_err(|e| crate::Failure::Env(e.to_string()))?.port();
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| crate::Failure::Env(e.to_string()))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| crate::Failure::Env(e.to_string()))?;
    let mut builder = http1::Builder::new();
    builder.keep_alive(true).header_read_timeout(None);
    let graceful = GracefulShutdown::new();

    crate::emit(&json!({"type": "ready", "runtime": "rust", "port": bound, "settings": crate::settings()}));
    let started = Instant::now();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let conn = builder.serve_connection(TokioIo::new(stream), service_fn(hello));
                let conn = graceful.watch(conn);
                tokio::spawn(async move { let _ = conn.await; });
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    drop(listener);
    // Idle keep-alive connections close at once; busy ones get 5 s.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(json!({
        "port": bound,
        "requests_served": SERVED.load(Relaxed),
        "uptime_ns": started.elapsed().as_nanos() as u64,
        "peak_rss_bytes": proc_status_bytes("VmHWM"),
    }))
}
