#!/usr/bin/env python3
"""The same quick suite through the local Docker engine and through a second
engine on this machine reached only through ssh (tests/remote_engine.py), runs
alternated, to see what the remote path (load generator and verification in
containers on that engine, a sampler container reading its cgroups) changes.

    .venv/bin/python scripts/ssh_vs_local.py [--runs 2] [--trials 3] [--json OUT.json]

Prints per runtime the headline medians of both sides, their ratio ssh/local,
and the sampling interval each achieved (median gap between consecutive samples).
Needs root, dockerd and openssh-server (scripts/setup-machine.sh). startup is
left out: it needs the engine on this machine.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import remote_engine  # noqa: E402


def run(out: Path, trials: int, env: dict, runtimes: str, scenarios: str) -> dict:
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--suite",
            "quick",
            "--backend",
            "docker",
            "--scenarios",
            scenarios,
            "--runtimes",
            runtimes,
            "--trials",
            str(trials),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise SystemExit(f"harness run failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.read_text())


def main() -> int:
    import os

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--scenarios", default="spawn,live,http")  # startup needs the engine on this machine
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    values: dict = {}  # (side, benchmark, metric) -> [trial values]
    intervals: dict = {}  # (side, scenario) -> [seconds per sample]
    with tempfile.TemporaryDirectory() as tmp, remote_engine.ssh_engine(Path(tmp)) as host:
        sides = {"local": dict(os.environ), "ssh": {**os.environ, "DOCKER_HOST": host}}
        for k in range(a.runs):
            for side, env in sides.items():
                doc = run(Path(tmp) / f"{side}-{k}.json", a.trials, env, a.runtimes, a.scenarios)
                print(f"run {k + 1}/{a.runs} {side}: {doc['placement']['sampling']}", flush=True)
                for b in doc["benchmarks"]:
                    for t in b["trials"]:
                        if not t["ok"] or t["warmup"] or t.get("excluded"):
                            continue
                        for key, meta in b["metrics"].items():
                            if meta.get("headline", True) and t["metrics"].get(key) is not None:
                                values.setdefault((side, b["id"], key), []).append(t["metrics"][key])
                        ts = [x[0] for x in t.get("rss_series") or []]  # sample times (downsampled past 200)
                        gaps = [y - x for x, y in zip(ts, ts[1:], strict=False)]
                        if gaps:
                            intervals.setdefault((side, b["scenario"]), []).append(statistics.median(gaps))
    rows = []
    for (side, bid, key), vs in sorted(values.items()):
        if side != "local" or ("ssh", bid, key) not in values:
            continue
        local, ssh = statistics.median(vs), statistics.median(values[("ssh", bid, key)])
        rows.append(
            {"benchmark": bid, "metric": key, "local": local, "ssh": ssh, "ratio": ssh / local if local else None}
        )
        print(
            f"{bid:12} {key:26} local {local:>14.4g}  ssh {ssh:>14.4g}  ssh/local "
            f"{ssh / local if local else float('nan'):.3f}"
        )
    achieved = {
        f"{side}/{scenario}": round(1000 * statistics.median(v), 1) for (side, scenario), v in intervals.items()
    }
    print("sampling interval achieved (ms, median gap between samples):", achieved)
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "sampling_interval_ms": achieved}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
