#!/usr/bin/env python3
"""Is the load generator the bottleneck? `loadgen saturate` vs `wrk` against the
same server, same pinning (server on CPU 1, load on CPU 0), alternated.

    .venv/bin/python scripts/loadgen_vs_wrk.py [--runs 5] [--connections 256] [--seconds 10] [--runtimes go,rust]

Needs wrk (Debian package wrk). Prints requests/s per run and the median
ratio loadgen / wrk per server (>= 1.0: loadgen drives at least as hard).
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--connections", type=int, default=256)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runtimes", default="go,rust")
    a = ap.parse_args()
    wrk = shutil.which("wrk")
    if not wrk:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    lg = build(LOADGEN, LOADGEN.find_toolchain()).artifact_dir / "loadgen"
    for name in a.runtimes.split(","):
        rt = RUNTIMES[name]
        tc = rt.find_toolchain()
        built = build(rt, tc)
        argv = [*rt.launch(built.artifact_dir, 1, {"gc": "G1", "jvm_flags": []}, tc), "http", "--port", "0",
                "--workers", "1"]
        server = subprocess.Popen(["taskset", "-c", "1", *argv], stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, **tc.env})
        port = json.loads(server.stdout.readline())["port"]
        lg_rates, wrk_rates = [], []
        try:
            for i in range(a.runs):
                for tool in (("loadgen", "wrk") if i % 2 == 0 else ("wrk", "loadgen")):
                    if tool == "loadgen":
                        out = subprocess.run(["taskset", "-c", "0", str(lg), "saturate", "--port", str(port),
                                              "--connections", str(a.connections), "--duration-s", str(a.seconds),
                                              "--workers", "1"], capture_output=True, text=True, check=True)
                        lg_rates.append(json.loads(out.stdout.splitlines()[-1])["requests_per_sec"])
                    else:
                        out = subprocess.run(["taskset", "-c", "0", wrk, "-t1", f"-c{a.connections}",
                                              f"-d{a.seconds}s", f"http://127.0.0.1:{port}/"],
                                             capture_output=True, text=True, check=True)
                        wrk_rates.append(float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1)))
                print(f"{name} run {i + 1}: loadgen {lg_rates[-1]:,.0f} req/s, wrk {wrk_rates[-1]:,.0f} req/s",
                      flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
        ratios = [x / y for x, y in zip(lg_rates, wrk_rates)]
        print(f"{name}: median loadgen {statistics.median(lg_rates):,.0f} req/s, wrk "
              f"{statistics.median(wrk_rates):,.0f} req/s, median ratio loadgen/wrk {statistics.median(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
