#!/usr/bin/env python3
"""Calibrate the pull request's regression gate on this machine (measured, not assumed), with the
PR workflow's own settings: `harness ab --base HEAD --suite quick --scenarios spawn,live,http,startup`
and nothing else (the quick suite's trials, thresholds and max_rounds).

A/A: the same commit against itself, TRIES times: false alarms (a gate that fails), "no change"
decisions (every gated metric decided equivalent), what stayed undecided, rounds and wall time.

Power, two ways:
  - planted in the data: each A/A gate's candidate file with one runtime's spawn tasks/s (and one
    server's max req/s) lowered by each SLOWDOWN, gated again with `harness gate` (the same rounds:
    a lower bound, since a real gate would add rounds while undecided);
  - planted in the code, POWER_TRIES times each: a commit on no branch (HEAD with POWER_RUNTIME's
    spawn task doing K more rounds of the work function, or its http server K rounds per request,
    K fitted from two runs so that the figure drops by SLOWDOWN), gated by `harness ab --candidate`.

    .venv/bin/python scripts/gate_calibration.py [--tries 20] [--power-tries 5] [--slowdowns 5,10]
        [--scenarios spawn,live,http,startup] [--runtimes go,rust,java] [--power-runtime go]
        [--ab-args "--trials 6"] [--set KEY=VALUE ...] [--json OUT.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.session import git_ref  # noqa: E402

HARNESS = [sys.executable, "-m", "harness"]
# what each planted slowdown lowers, per scenario, and the code it is planted in (Go's workload)
PLANTS = {
    "spawn": {
        "metric": "tasks_per_sec",
        "path": "workloads/go/spawn.go",
        "old": "checksum.add(index, work(uint64(index), rounds))",
        "new": "w := work(uint64(index), rounds)\n\t\t\tif work(uint64(index)+1, {k}) == 0 {{\n\t\t\t\tw++\n\t\t\t}}"
        "\n\t\t\tchecksum.add(index, w)",
    },
    "http": {
        "metric": "max_requests_per_sec",
        "path": "workloads/go/args.go",
        "old": "o.work = 0 // no work per request unless asked",
        "new": "o.work = {k} // planted: work per request",
    },
}


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*HARNESS, *args], cwd=ROOT, capture_output=True, text=True)


def ab(common: list[str], out_dir: Path, candidate: str | None = None) -> tuple[int, dict, float, list[Path]]:
    verdict = out_dir / "verdict.json"
    verdict.unlink(missing_ok=True)
    t0 = time.monotonic()
    p = run(
        [
            "ab",
            "--base",
            "HEAD",
            *(["--candidate", candidate] if candidate else []),
            *common,
            "--out-dir",
            str(out_dir),
            "--verdict",
            str(verdict),
            "--no-why",
        ]
    )
    if p.returncode not in (0, 1) or not verdict.exists():
        raise SystemExit(f"harness ab failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
    files = sorted(out_dir.glob("ab-*-base.json"))[-1:] + sorted(out_dir.glob("ab-*-candidate.json"))[-1:]
    return p.returncode, json.loads(verdict.read_text()), time.monotonic() - t0, files


def median_of(doc: dict, bench: str, metric: str) -> float:
    b = next(b for b in doc["benchmarks"] if b["id"] == bench)
    return b["summary"][metric]["median"]


def fit_k(scenario: str, runtime: str, slowdown: float, sets: list[str], out_dir: Path) -> tuple[int, float]:
    """K, the rounds of the work function to plant so that the scenario's figure drops by `slowdown`:
    time per unit (task, request) = a + b * K, from two runs of the runtime alone."""
    knob, lo, hi = ("spawn.work", 100, 300) if scenario == "spawn" else ("http.work", 0, 20_000)
    rates = {}
    for k in (lo, hi):
        out = out_dir / f"fit-{scenario}-{k}.json"
        p = run(
            [
                "run",
                "--suite",
                "quick",
                "--backend",
                "native",
                "--scenarios",
                scenario,
                "--runtimes",
                runtime,
                "--trials",
                "5",
                *(x for s in sets for x in ("--set", s)),
                "--set",
                f"{knob}={k}",
                "--out",
                str(out),
            ]
        )
        if p.returncode != 0:
            raise SystemExit(f"fit run failed: {p.stderr.strip().splitlines()[-1:]}")
        rates[k] = median_of(json.loads(out.read_text()), f"{scenario}/{runtime}", PLANTS[scenario]["metric"])
    per_round = (1 / rates[hi] - 1 / rates[lo]) / (hi - lo)
    if per_round <= 0:
        raise SystemExit(f"{scenario}: more work did not cost more ({rates}): the machine is too noisy to fit")
    base_time = 1 / rates[lo]
    return max(1, round(base_time * (1 / (1 - slowdown) - 1) / per_round)), rates[lo]


def planted_in_data(files: list[Path], bench: str, metric: str, slowdown: float, out_dir: Path) -> dict | None:
    """The gate's verdict on the A/A pair with the candidate's `metric` of `bench` lowered by `slowdown`."""
    base, cand = files
    doc = json.loads(cand.read_text())
    hit = False
    for b in doc["benchmarks"]:
        if b["id"] == bench:
            for t in b["trials"]:
                if t.get("metrics") and metric in t["metrics"]:
                    t["metrics"][metric] *= 1 - slowdown
                    (t.get("rounds") or {}).pop(metric, None)
                    hit = True
    if not hit:
        return None
    planted = out_dir / "planted-candidate.json"
    planted.write_text(json.dumps(doc))
    verdict = out_dir / "planted-verdict.json"
    run(["gate", "--baseline", str(base), "--candidate", str(planted), "--verdict", str(verdict)])
    v = json.loads(verdict.read_text())
    return next(c for c in v["comparisons"] if c["benchmark"] == bench and c["metric"] == metric)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tries", type=int, default=20, help="A/A gates")
    ap.add_argument("--power-tries", type=int, default=5, help="gates per planted slowdown in the code")
    ap.add_argument("--slowdowns", default="5,10", help="planted slowdowns in percent")
    ap.add_argument("--scenarios", default="spawn,live,http,startup")
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--power-runtime", default="go", help="the runtime slowed (its code is planted: go)")
    ap.add_argument("--ab-args", default="", help="more harness ab flags (the workflow passes none)")
    ap.add_argument("--set", action="append", default=[], help="suite overrides for every run")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep every gate's results files here (default: none kept)")
    a = ap.parse_args()
    if a.power_runtime != "go":
        raise SystemExit("--power-runtime: the planted code is Go's (workloads/go); only go is supported")
    scenarios = a.scenarios.split(",")
    common = [
        "--suite",
        "quick",
        "--scenarios",
        a.scenarios,
        "--runtimes",
        a.runtimes,
        *shlex.split(a.ab_args),
        *(x for s in a.set for x in ("--set", s)),
    ]
    slowdowns = [float(x) / 100 for x in a.slowdowns.split(",") if x]
    plants = [s for s in PLANTS if s in scenarios]
    report: dict = {"settings": common, "tries": a.tries, "power_tries": a.power_tries, "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = a.keep or Path(tmp)
        tmpd.mkdir(parents=True, exist_ok=True)
        aa: list[dict] = []
        offline: dict[tuple[str, float], list[str]] = {(s, d): [] for s in plants for d in slowdowns}
        for i in range(a.tries):
            out = tmpd / f"aa{i}"
            out.mkdir(exist_ok=True)
            code, v, wall, files = ab(common, out)
            kinds = Counter(c["verdict"] for c in v["comparisons"])
            aa.append(
                {
                    "exit": code,
                    "rounds": v["rounds"],
                    "wall_s": wall,
                    "verdicts": dict(kinds),
                    "regressions": [
                        f"{c['benchmark']}:{c['metric']}" for c in v["comparisons"] if c["verdict"] == "regression"
                    ],
                    "undecided": [
                        f"{c['benchmark']}:{c['metric']}" for c in v["comparisons"] if c["verdict"] == "undecided"
                    ],
                }
            )
            print(f"A/A {i + 1}/{a.tries}: exit {code}, {v['rounds']} rounds, {wall:.0f} s, {dict(kinds)}", flush=True)
            for s in plants:
                for d in slowdowns:
                    c = planted_in_data(files, f"{s}/{a.power_runtime}", PLANTS[s]["metric"], d, out)
                    if c is not None:
                        offline[s, d].append(c["verdict"])
        n = len(aa)
        report["aa"] = {
            "false_alarms": sum(r["exit"] == 1 for r in aa),
            "all_no_change": sum(set(r["verdicts"]) == {"no change"} for r in aa),
            "metrics": sum(sum(r["verdicts"].values()) for r in aa) // max(n, 1),
            "no_change_share": statistics.fmean(
                r["verdicts"].get("no change", 0) / sum(r["verdicts"].values()) for r in aa
            ),
            "undecided_most": Counter(m for r in aa for m in r["undecided"]).most_common(8),
            "rounds_median": statistics.median(r["rounds"] for r in aa),
            "wall_median_s": statistics.median(r["wall_s"] for r in aa),
            "wall_max_s": max(r["wall_s"] for r in aa),
            "tries": aa,
        }
        r = report["aa"]
        print(
            f"A/A: {r['false_alarms']} false alarm(s) in {n}; {r['all_no_change']} gates with every metric "
            f"'no change' ({100 * r['no_change_share']:.0f}% of the {r['metrics']} metrics on average); "
            f"rounds median {r['rounds_median']}, wall median {r['wall_median_s']:.0f} s (max {r['wall_max_s']:.0f} s)"
        )
        print(f"  undecided most often: {r['undecided_most']}")
        report["power_in_data"] = []
        for (s, d), verdicts in offline.items():
            caught = sum(v == "regression" for v in verdicts)
            report["power_in_data"].append(
                {"scenario": s, "slowdown_pct": 100 * d, "caught": caught, "of": len(verdicts)}
            )
            print(f"planted in the data: {s}/{a.power_runtime} -{100 * d:g}%: caught {caught}/{len(verdicts)}")
        report["power_in_code"] = []
        for s in plants:
            for d in slowdowns:
                if a.power_tries <= 0:
                    continue
                k, base_rate = fit_k(s, a.power_runtime, d, a.set, tmpd)
                plant = PLANTS[s]
                sha = git_ref.planted(
                    "HEAD",
                    ROOT,
                    plant["path"],
                    plant["old"],
                    plant["new"].format(k=k),
                    f"planted: {s}/{a.power_runtime} {k} more rounds of work",
                )
                rows = []
                for i in range(a.power_tries):
                    out = tmpd / f"p-{s}-{d}-{i}"
                    out.mkdir(exist_ok=True)
                    code, v, wall, _ = ab(common, out, candidate=sha)
                    c = next(
                        c
                        for c in v["comparisons"]
                        if c["benchmark"] == f"{s}/{a.power_runtime}" and c["metric"] == plant["metric"]
                    )
                    rows.append(
                        {
                            "exit": code,
                            "verdict": c["verdict"],
                            "change": c["change"],
                            "rounds": v["rounds"],
                            "wall_s": wall,
                        }
                    )
                    print(
                        f"planted in the code: {s} -{100 * d:g}% (K {k}) {i + 1}/{a.power_tries}: "
                        f"{plant['metric']} {100 * (c['change'] or 0):+.1f}% {c['verdict']}, exit {code}, "
                        f"{v['rounds']} rounds, {wall:.0f} s",
                        flush=True,
                    )
                entry = {
                    "scenario": s,
                    "slowdown_pct": 100 * d,
                    "k": k,
                    "base_rate": base_rate,
                    "caught": sum(r["verdict"] == "regression" for r in rows),
                    "failed_gate": sum(r["exit"] == 1 for r in rows),
                    "of": len(rows),
                    "change_median_pct": 100 * statistics.median(r["change"] or 0 for r in rows),
                    "rounds_median": statistics.median(r["rounds"] for r in rows),
                    "wall_median_s": statistics.median(r["wall_s"] for r in rows),
                    "tries": rows,
                }
                report["power_in_code"].append(entry)
                print(
                    f"power in the code: {s} -{100 * d:g}%: caught {entry['caught']}/{entry['of']} (measured change "
                    f"median {entry['change_median_pct']:+.1f}%), gate failed {entry['failed_gate']}/{entry['of']}"
                )
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    return 0


def machine() -> dict:
    import os
    import platform

    return {
        "date": time.strftime("%Y-%m-%d"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "arch": platform.machine(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
