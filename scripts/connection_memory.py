"""What one kept-alive loopback connection costs beside the server's own memory: the load generator's RSS
and the kernel's memory for the pair of sockets (slab and socket buffers, /proc/meminfo and
/proc/net/sockstat), each as the slope between two stages of a ramp against the reference responder.
The memory guard's LOADGEN_BYTES_PER_CONNECTION (harness/subjects/scenarios/http.py) comes from here.

    .venv/bin/python scripts/connection_memory.py [--connections 18000] [--repeats 3]

Prints one line per quantity: the median over repeats, in bytes per connection, and the range."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.backends.native import build  # noqa: E402
from harness.subjects import LOADGEN  # noqa: E402


def kernel_bytes() -> dict[str, int]:
    """Slab (socket structures, files, epoll entries) and TCP socket buffers, this host-wide."""
    meminfo = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        meminfo[key] = int(rest.split()[0]) * 1024
    tcp = next(ln for ln in Path("/proc/net/sockstat").read_text().splitlines() if ln.startswith("TCP:"))
    words = tcp.split()
    pages = int(words[words.index("mem") + 1])
    return {"slab": meminfo["Slab"], "tcp_buffers": pages * 4096}


def one_ramp(loadgen: Path, low: int, high: int) -> dict[str, float]:
    """Bytes per connection of each quantity between `low` and `high` open connections."""
    responder = subprocess.Popen([str(loadgen), "respond", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert responder.stdout is not None
        port = json.loads(responder.stdout.readline())["port"]
        ramp = subprocess.Popen(
            [str(loadgen), "ramp", "--port", str(port), "--stages", f"{low},{high}", "--rate", "1000"]
            + ["--stage-duration-s", "1.5"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert ramp.stdout is not None
        readings = []
        for line in ramp.stdout:
            event = json.loads(line)
            if event["type"] != "stage_start":
                continue
            time.sleep(0.5)  # the connections settle: accepted, registered, their first buffers allocated
            readings.append(
                {
                    "connections": event["connections_open"],
                    "loadgen_rss": psutil.Process(ramp.pid).memory_info().rss,
                    "responder_rss": psutil.Process(responder.pid).memory_info().rss,
                    **kernel_bytes(),
                }
            )
        assert ramp.wait(timeout=120) == 0, "the ramp failed"
    finally:
        responder.terminate()
        responder.wait(timeout=30)
    a, b = readings
    n = b["connections"] - a["connections"]
    return {k: (b[k] - a[k]) / n for k in a if k != "connections"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=18_000, help="the second stage (the first is a tenth)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    loadgen = build(LOADGEN, LOADGEN.toolchain()).artifact_dir / "loadgen"
    runs = [one_ramp(loadgen, max(1, args.connections // 10), args.connections) for _ in range(args.repeats)]
    print(f"bytes per kept-alive loopback connection, {args.connections // 10:,} -> {args.connections:,} connections")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:14} {statistics.median(values):9,.0f} B  (range {min(values):,.0f} .. {max(values):,.0f})")
    both = [r["loadgen_rss"] + r["slab"] / 2 + r["tcp_buffers"] / 2 for r in runs]
    print(f"  the generator's side (its RSS + half the kernel's): {statistics.median(both):,.0f} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
