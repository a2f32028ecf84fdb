"""A stand-in workload for fault tests: speaks PROTOCOL.md's spawn and http
subcommands and misbehaves as FAKE_MODE says (spawn: ok, slow, crash, hang,
block, garbage, badsum; http: ok, wronganswer)."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from harness.subjects.scenarios.checksum import expected_checksum  # noqa: E402


def serve(port: int, workers: int, mode: str) -> int:
    """A tiny http server: the right answer to GET /, or (wronganswer) one with the wrong body."""
    import signal
    import socket
    from email.utils import formatdate

    srv = socket.create_server(("127.0.0.1", port))
    print(
        json.dumps(
            {
                "type": "ready",
                "runtime": "fake",
                "port": srv.getsockname()[1],
                "settings": {"runtime_version": "fake 1"},
            }
        ),
        flush=True,
    )
    served = 0
    signal.signal(signal.SIGTERM, lambda *_: srv.close())
    body = b"Hello, World!" if mode != "wronganswer" else b"Goodbye, World"
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            break
        with conn:
            conn.recv(4096)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nServer: fake\r\nContent-Type: text/plain\r\nDate: "
                + formatdate(usegmt=True).encode()
                + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            served += 1
    print(
        json.dumps(
            {
                "type": "result",
                "protocol": 3,
                "runtime": "fake",
                "scenario": "http",
                "workers": workers,
                "port": port,
                "requests_served": served,
                "uptime_ns": 1,
                "cpu_user_ns": 1,
                "cpu_system_ns": 1,
                "peak_rss_bytes": 1 << 20,
                "forced_gc": "",
                "settings": {"runtime_version": "fake 1"},
            }
        ),
        flush=True,
    )
    return 0


def main() -> int:
    args = sys.argv[1:]
    if args[0] == "http":
        opts = dict(zip(args[1::2], args[2::2], strict=False))
        return serve(int(opts["--port"]), int(opts["--workers"]), os.environ.get("FAKE_MODE", "ok"))
    opts = dict(zip(args[1::2], args[2::2], strict=False))
    tasks, work, workers = int(opts["--tasks"]), int(opts["--work"]), int(opts["--workers"])
    mode = os.environ.get("FAKE_MODE", "ok")
    marker = os.environ.get("FAKE_MARKER", "fake-marker")
    if mode == "crash":
        print("fake: simulated crash", file=sys.stderr)
        return 1
    if mode == "hang":
        # a grandchild too, so the test sees the whole tree die
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", marker])
        time.sleep(1000)
    if mode == "block":  # hangs without children of its own and without output: only a signal ends it
        with open(os.environ["FAKE_READY_FILE"], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(1000)
    if mode == "garbage":
        print("this is not json", flush=True)
        return 0
    if mode == "slow":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", marker])
        time.sleep(0.4)
    if mode == "sleepy":  # slow, and nothing left behind
        time.sleep(float(os.environ.get("FAKE_SLEEP_S", "0.4")))
    checksum = expected_checksum(tasks, work) if mode != "badsum" else "0" * 16
    rounds = int(opts.get("--warmup-iterations", 0)) + int(opts.get("--iterations", 1))
    one = {
        "tasks": tasks,
        "work": work,
        "checksum": checksum,
        "total_ns": 1000,
        "spawn_ns": 500,
        "tasks_per_sec": tasks / 1e-6,
        "latency_ns": {"mean": 1.0, "p50": 1, "p99": 2, "max": 3},
        "cpu_ns": 900,
    }
    iterations = [{**one, "index": i, "warmup": i < int(opts.get("--warmup-iterations", 0))} for i in range(rounds)]
    for it in iterations:  # each round reported as it ends, as the protocol says
        print(json.dumps({"type": "iteration", **it}), flush=True)
    print(
        json.dumps(
            {
                "type": "result",
                "protocol": 3,
                "runtime": "fake",
                "scenario": "spawn",
                "workers": workers,
                **one,
                "iterations": iterations,
                "cpu_user_ns": 800,
                "cpu_system_ns": 100,
                "forced_gc": "",
                "peak_rss_bytes": 1 << 20,
                "settings": {"runtime_version": "fake 1"},
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
