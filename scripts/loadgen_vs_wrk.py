#!/usr/bin/env python3
"""Is the load generator the bottleneck? `loadgen saturate` vs `wrk` against the
same server, same pinning (server on CPU 1, load on CPU 0), the tools alternated
run by run after a warm-up of the server (JIT, caches).

    .venv/bin/python scripts/loadgen_vs_wrk.py [--runs 5] [--connections 256,10000] [--seconds 8]
        [--runtimes go,rust,java] [--also NAME=PATH ...] [--json OUT.json]

`--also old=/path/to/loadgen` adds another load generator binary with the same
`saturate` interface (e.g. a previous version built from an older checkout),
measured in the same alternation. Needs wrk (Debian package wrk). Prints
requests/s per run and the median ratio of each load generator to wrk per
server and connection count (>= 1.0: it drives the server at least as hard).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.backends.native import build  # noqa: E402
from harness.subjects import LOADGEN, RUNTIMES  # noqa: E402


def saturate(binary: str, port: int, connections: int, seconds: float) -> float:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "0",
            binary,
            "saturate",
            "--port",
            str(port),
            "--connections",
            str(connections),
            "--duration-s",
            str(seconds),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])["requests_per_sec"]


def wrk(path: str, port: int, connections: int, seconds: float) -> float:
    out = subprocess.run(
        ["taskset", "-c", "0", path, "-t1", f"-c{connections}", f"-d{seconds:g}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    if not found:
        raise SystemExit(f"wrk printed no Requests/sec: {out.stdout[-300:]!r}")
    return float(found.group(1))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--connections", default="256")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--warmup-s", type=float, default=3)
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.seconds != int(a.seconds) or a.warmup_s != int(a.warmup_s) or min(a.seconds, a.warmup_s) < 1:
        print("--seconds and --warmup-s must be whole seconds of at least 1 (wrk takes no fractions)", file=sys.stderr)
        return 2
    wrk_path = shutil.which("wrk")
    if not wrk_path:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    tools = {"loadgen": str(build(LOADGEN, LOADGEN.toolchain()).artifact_dir / "loadgen")}
    tools.update(dict(item.split("=", 1) for item in a.also))
    tools["wrk"] = wrk_path
    report = []
    for name in a.runtimes.split(","):
        rt = RUNTIMES[name]
        tc = rt.toolchain()
        built = build(rt, tc)
        argv = [*rt.launch(built.artifact_dir, 1, rt.default_settings(), tc), "http", "--port", "0", "--workers", "1"]
        server = subprocess.Popen(
            ["taskset", "-c", "1", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **tc.env},
        )
        assert server.stdout is not None
        port = json.loads(server.stdout.readline())["port"]
        try:
            wrk(wrk_path, port, 256, a.warmup_s)  # JIT and caches warm before anything is compared
            for conns in (int(c) for c in a.connections.split(",")):
                rates: dict[str, list[float]] = {t: [] for t in tools}
                for i in range(a.runs):
                    order = list(tools) if i % 2 == 0 else list(reversed(tools))
                    for tool in order:
                        run = wrk if tool == "wrk" else saturate
                        rates[tool].append(run(tools[tool], port, conns, a.seconds))
                    print(
                        f"{name} c={conns} run {i + 1}: "
                        + ", ".join(f"{t} {rates[t][-1]:,.0f}" for t in tools)
                        + " req/s",
                        flush=True,
                    )
                for tool in tools:
                    if tool == "wrk":
                        continue
                    ratios = [x / y for x, y in zip(rates[tool], rates["wrk"], strict=True)]
                    entry = {
                        "runtime": name,
                        "connections": conns,
                        "tool": tool,
                        "median_rps": statistics.median(rates[tool]),
                        "wrk_median_rps": statistics.median(rates["wrk"]),
                        "ratio_median": statistics.median(ratios),
                        "ratio_min": min(ratios),
                        "ratio_max": max(ratios),
                    }
                    report.append(entry)
                    print(
                        f"{name} c={conns}: {tool} {entry['median_rps']:,.0f} req/s, wrk {entry['wrk_median_rps']:,.0f}"
                        f" req/s, median ratio {tool}/wrk {entry['ratio_median']:.3f} "
                        f"(min {entry['ratio_min']:.3f}, max {entry['ratio_max']:.3f})",
                        flush=True,
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
