#!/usr/bin/env python3
"""Calibrate the pull request's regression gate on this machine (measured, not assumed), with the PR
workflow's own settings: `harness ab --base HEAD --suite gate` (the gate suite's scenarios, trials,
thresholds, gated family and max_rounds) and nothing else.

A/A: the same commit against itself, TRIES times: false alarms (a gate that fails), the share of the
gated metrics decided "no change", what stayed undecided, rounds and wall time per gate; and from
their spread, the smallest change each gated metric can detect at 80% power.

Power, two ways:
  - planted in the data: in each A/A gate's candidate file, every gated metric of spawn, live and http of
    every runtime made worse by each SLOWDOWN in turn (the others untouched), and gated again with the
    same rounds (a lower bound: a real gate adds rounds while undecided);
  - planted in the code: a commit on no branch with one workload made slower or bigger (PLANTS: Go's
    spawn task, Go's http handler, Java's spawn task, Rust's parked task), its size fitted from two runs
    so that the gated metric moves by CODE_SLOWDOWN, gated by `harness ab --candidate` CODE_TRIES times;
    and once at WHY_SLOWDOWN with the differential flame graph, which must name the planted function.

    .venv/bin/python scripts/gate_calibration.py [--tries 5] [--slowdowns 5,10,20]
        [--plants go-spawn,go-http,java-spawn,rust-live] [--code-slowdown 10] [--code-tries 2]
        [--why-slowdown 20] [--suite gate] [--scenarios ...] [--runtimes ...] [--set KEY=VALUE ...]
        [--json OUT.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import config, gate  # noqa: E402
from harness.gate.statistics import detectable  # noqa: E402
from harness.record.model import from_doc, validate  # noqa: E402
from harness.session import git_ref  # noqa: E402

HARNESS = [sys.executable, "-m", "harness"]
PLANTED_IN_DATA = ("spawn", "live", "http")


@dataclass(frozen=True)
class Plant:
    """A change planted in one workload's code: `new` (with {k}) in place of `old` in `path`, K fitted from
    two runs with the suite key `knob` at `lo` and `hi` (the same cost, asked through the protocol)."""

    scenario: str
    runtime: str
    metric: str  # the gated metric it moves
    path: str
    old: str
    new: str
    knob: str = ""  # a suite key that buys the same cost in every runtime (fitting K), or "" for bytes
    lo: int = 0
    hi: int = 0
    unit_bytes: int = 0  # a memory plant: bytes per unit of K, no fit needed
    function: str = ""  # what its differential flame graph must name


PLANTS = {
    "go-spawn": Plant(
        "spawn",
        "go",
        "cpu_ns_per_task",
        "workloads/go/spawn.go",
        "checksum.add(index, work(uint64(index), rounds))",
        "w := work(uint64(index), rounds)\n\t\t\tif work(uint64(index)+1, {k}) == 0 {{\n\t\t\t\tw++\n\t\t\t}}"
        "\n\t\t\tchecksum.add(index, w)",
        knob="spawn.work",
        lo=100,
        hi=200,
        function="main.work",
    ),
    "go-http": Plant(
        "http",
        "go",
        "stage_cpu_us_per_request",
        "workloads/go/args.go",
        "o.work = 0 // no work per request unless asked",
        "o.work = {k} // planted: work per request",
        knob="http.work",
        lo=0,
        hi=2000,
        function="main.work",
    ),
    "java-spawn": Plant(
        "spawn",
        "java",
        "cpu_ns_per_task",
        "workloads/java/src/main/java/bench/Spawn.java",
        "checksum.add(index, Work.work(index, rounds));",
        "long w = Work.work(index, rounds);\n                    if (Work.work(index + 1, {k}) == 0) w++;"
        "\n                    checksum.add(index, w);",
        knob="spawn.work",
        lo=100,
        hi=200,
        function="bench.Work.work",
    ),
    "rust-live": Plant(
        "live",
        "rust",
        "bytes_per_task",
        "workloads/rust/src/live.rs",
        "                tokio::spawn(shared.gate.parked(\n                    move || shared.count_alive(n),\n"
        "                    move || {\n",
        "                let ballast = [index as u64; {k}]; // planted: a bigger future per parked task\n"
        "                tokio::spawn(shared.gate.parked(\n                    move || shared.count_alive(n),\n"
        "                    move || {{\n                        std::hint::black_box(&ballast);\n",
        unit_bytes=8,
    ),
}


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*HARNESS, *args], cwd=ROOT, capture_output=True, text=True)


def ab(common: list[str], out_dir: Path, candidate: str | None = None, why: bool = False):
    verdict = out_dir / "verdict.json"
    verdict.unlink(missing_ok=True)
    t0 = time.monotonic()
    args = ["ab", "--base", "HEAD", *(["--candidate", candidate] if candidate else []), *common]
    p = run([*args, "--out-dir", str(out_dir), "--verdict", str(verdict), *([] if why else ["--no-why"])])
    if p.returncode not in (0, 1) or not verdict.exists():
        raise SystemExit(f"harness ab failed ({p.returncode}): {p.stderr.strip().splitlines()[-3:]}")
    files = sorted(out_dir.glob("ab-*-base.json"))[-1:] + sorted(out_dir.glob("ab-*-candidate.json"))[-1:]
    return p.returncode, json.loads(verdict.read_text()), time.monotonic() - t0, files


def options(suite_name: str, sets: list[str]) -> gate.Options:
    suite = config.load_suite(suite_name, sets)
    return gate.Options.of_suite(suite["gate"])


def worse(value: float, better: str, by: float) -> float:
    return value * (1 + by) if better == "lower" else value * (1 - by)


def planted_in_data(files: list[Path], opts: gate.Options, slowdowns: list[float]) -> list[dict]:
    """Every gated metric of spawn, live and http of every benchmark, made worse by each slowdown in turn."""
    base_doc, cand_doc = (json.loads(f.read_text()) for f in files)
    base = from_doc(validate(base_doc, str(files[0])))
    out = []
    for b in cand_doc["benchmarks"]:
        if b["scenario"] not in PLANTED_IN_DATA:
            continue
        for key, meta in b["metrics"].items():
            if key not in opts.gated_keys:
                continue
            for s in slowdowns:
                doc = json.loads(json.dumps(cand_doc))
                bench = next(x for x in doc["benchmarks"] if x["id"] == b["id"])
                touched = False
                for t in bench["trials"]:
                    if (t.get("metrics") or {}).get(key) is not None:
                        t["metrics"][key] = worse(t["metrics"][key], meta["better"], s)
                        (t.get("rounds") or {}).pop(key, None)
                        touched = True
                if not touched:
                    continue
                decision = gate.decide(base, from_doc(validate(doc, "planted")), opts, strict=False)
                c = next(c for c in decision.comparisons if c.benchmark == b["id"] and c.metric == key)
                verdict = c.verdict.value if c.verdict else "-"
                out.append({"benchmark": b["id"], "metric": key, "slowdown": s, "verdict": verdict})
    return out


def fit_k(plant: Plant, target: float, sets: list[str], out_dir: Path, common: list[str]) -> tuple[int, float]:
    """K so that the plant moves its metric by `target`: per unit of the knob the metric grows linearly
    (measured at lo and hi, the runtime alone); a memory plant adds unit_bytes per K."""
    if plant.unit_bytes:
        out = out_dir / "fit-bytes.json"
        p = run(_fit_args(plant, common, sets, 2, out))
        if p.returncode != 0:
            raise SystemExit(f"fit run failed: {p.stderr.strip().splitlines()[-1:]}")
        now = median_of(json.loads(out.read_text()), f"{plant.scenario}/{plant.runtime}", plant.metric)
        return max(1, round(now * target / plant.unit_bytes)), now
    values = {}
    for k in (plant.lo, plant.hi):
        out = out_dir / f"fit-{plant.scenario}-{plant.runtime}-{k}.json"
        p = run([*_fit_args(plant, common, sets, 3, out), "--set", f"{plant.knob}={k}"])
        if p.returncode != 0:
            raise SystemExit(f"fit run failed: {p.stderr.strip().splitlines()[-1:]}")
        values[k] = median_of(json.loads(out.read_text()), f"{plant.scenario}/{plant.runtime}", plant.metric)
    per_unit = (values[plant.hi] - values[plant.lo]) / (plant.hi - plant.lo)
    if per_unit <= 0:
        raise SystemExit(f"{plant.scenario}: more work did not cost more ({values}): too noisy to fit")
    base_value = values[plant.lo] if plant.knob != "http.work" else values[0]
    # spawn's knob is the work every task does (K extra rounds planted on top of it); http's is all of it
    return max(1, round(base_value * target / per_unit)), base_value


def _fit_args(plant: Plant, common: list[str], sets: list[str], trials: int, out: Path) -> list[str]:
    """A run of the plant's runtime alone in its scenario (the suite's other settings as given)."""
    overrides = [x for s in sets for x in ("--set", s)]
    return ["run", *common, "--scenarios", plant.scenario, "--runtimes", plant.runtime, "--trials", str(trials),
            *overrides, "--out", str(out)]  # fmt: skip


def median_of(doc: dict, bench: str, metric: str) -> float:
    b = next(b for b in doc["benchmarks"] if b["id"] == bench)
    return b["summary"][metric]["median"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tries", type=int, default=5, help="A/A gates")
    ap.add_argument("--slowdowns", default="5,10,20", help="slowdowns planted in the data, in percent")
    ap.add_argument("--plants", default=",".join(PLANTS), help=f"changes planted in the code, of {', '.join(PLANTS)}")
    ap.add_argument("--code-slowdown", type=float, default=10, help="percent, planted in the code")
    ap.add_argument("--code-tries", type=int, default=2, help="gates per plant in the code")
    ap.add_argument(
        "--why-slowdown", type=float, default=20, help="percent, Go's spawn, with its flame graph (0: none)"
    )
    ap.add_argument(
        "--plant-scope",
        choices=("scenario", "all"),
        default="scenario",
        help="a code plant's gate: its scenario alone (minutes), or every scenario as the workflow runs it",
    )
    ap.add_argument("--suite", default="gate")
    ap.add_argument("--scenarios", default=None)
    ap.add_argument("--runtimes", default=None)
    ap.add_argument("--set", action="append", default=[], help="suite overrides for every run")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep every gate's results files here")
    a = ap.parse_args()
    common = ["--suite", a.suite]
    common += ["--scenarios", a.scenarios] if a.scenarios else []
    common += ["--runtimes", a.runtimes] if a.runtimes else []
    sets = [x for s in a.set for x in ("--set", s)]
    opts = options(a.suite, a.set)
    slowdowns = [float(x) / 100 for x in a.slowdowns.split(",") if x]
    report: dict = {"settings": [*common, *sets], "machine": machine(), "tries": a.tries}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = a.keep or Path(tmp)
        tmpd.mkdir(parents=True, exist_ok=True)
        aa, in_data, detect = [], [], defaultdict(list)
        for i in range(a.tries):
            out = tmpd / f"aa{i}"
            out.mkdir(exist_ok=True)
            code, v, wall, files = ab([*common, *sets], out)
            gated = [c for c in v["comparisons"] if c.get("gated", True)]
            kinds = Counter(c["verdict"] for c in gated)
            family = sum(1 for c in gated if c["p_adjusted"] is not None)
            for c in gated:
                m = detectable(c["se"], c["df"], opts.alpha / max(family, 1))
                if m is not None:
                    detect[f"{c['benchmark']}:{c['metric']}"].append(m)
            aa.append(
                {
                    "exit": code,
                    "rounds": v["rounds"],
                    "wall_s": wall,
                    "verdicts": dict(kinds),
                    "false_alarms": [f"{c['benchmark']}:{c['metric']}" for c in gated if c["verdict"] == "regression"],
                    "undecided": [f"{c['benchmark']}:{c['metric']}" for c in gated if c["verdict"] == "undecided"],
                }
            )
            print(f"A/A {i + 1}/{a.tries}: exit {code}, {v['rounds']} rounds, {wall:.0f} s, {dict(kinds)}", flush=True)
            in_data += planted_in_data(files, opts, slowdowns)
        n = max(len(aa), 1)
        report["aa"] = {
            "false_alarms": sum(r["exit"] == 1 for r in aa),
            "no_change_share": statistics.fmean(
                r["verdicts"].get("no change", 0) / max(sum(r["verdicts"].values()), 1) for r in aa
            )
            if aa
            else 0,
            "undecided_most": Counter(m for r in aa for m in r["undecided"]).most_common(10),
            "rounds_median": statistics.median(r["rounds"] for r in aa) if aa else 0,
            "wall_median_s": statistics.median(r["wall_s"] for r in aa) if aa else 0,
            "wall_max_s": max((r["wall_s"] for r in aa), default=0),
            "tries": aa,
        }
        r = report["aa"]
        if aa:  # --tries 0: the code plants alone
            print(
                f"A/A: {r['false_alarms']} false alarm(s) in {n}; {100 * r['no_change_share']:.0f}% of the gated "
                f"metrics decided 'no change'; rounds median {r['rounds_median']}, wall median "
                f"{r['wall_median_s']:.0f} s (max {r['wall_max_s']:.0f} s)"
            )
            print(f"  undecided most often: {r['undecided_most']}")
        report["detectable_80pct"] = {k: statistics.median(v) for k, v in sorted(detect.items())}
        for k, m in report["detectable_80pct"].items():
            print(f"  smallest change detectable at 80% power: {k} {100 * m:.1f}%")
        report["power_in_data"] = []
        for (metric, s), rows in sorted(
            _group(in_data, lambda x: (x["metric"], x["slowdown"])).items(), key=lambda kv: (kv[0][0], kv[0][1])
        ):
            caught = sum(x["verdict"] == "regression" for x in rows)
            missed = sorted({x["benchmark"] for x in rows if x["verdict"] != "regression"})
            report["power_in_data"].append(
                {"metric": metric, "slowdown_pct": 100 * s, "caught": caught, "of": len(rows), "missed": missed}
            )
            print(f"planted in the data: {metric} +{100 * s:g}%: caught {caught}/{len(rows)} (missed in {missed})")
        report["power_in_code"] = []
        for name in [p for p in a.plants.split(",") if p]:
            plant = PLANTS[name]
            for slowdown, tries, why in ((a.code_slowdown, a.code_tries, False), (a.why_slowdown, 1, True)):
                if tries <= 0 or slowdown <= 0 or (why and name != "go-spawn"):
                    continue
                k, base_value = fit_k(plant, slowdown / 100, a.set, tmpd, ["--suite", a.suite])
                sha = git_ref.planted(
                    "HEAD", ROOT, plant.path, plant.old, plant.new.format(k=k), f"planted: {name} K={k}"
                )
                scope = ["--scenarios", plant.scenario] if a.plant_scope == "scenario" else []
                for i in range(tries):
                    out = tmpd / f"p-{name}-{slowdown:g}-{i}"
                    out.mkdir(exist_ok=True)
                    code, v, wall, _ = ab([*common, *scope, *sets], out, candidate=sha, why=why)
                    bench = f"{plant.scenario}/{plant.runtime}"
                    c = next(c for c in v["comparisons"] if c["benchmark"] == bench and c["metric"] == plant.metric)
                    row = {
                        "plant": name,
                        "target_pct": slowdown,
                        "k": k,
                        "base_value": base_value,
                        "change_pct": 100 * (c["change"] or 0),
                        "verdict": c["verdict"],
                        "exit": code,
                        "rounds": v["rounds"],
                        "wall_s": wall,
                    }
                    if why:
                        html = out.parent / "gate-report.html"
                        html = out / "gate-report.html" if (out / "gate-report.html").exists() else html
                        row["why_names_it"] = html.exists() and plant.function in html.read_text()
                    report["power_in_code"].append(row)
                    print(
                        f"planted in the code: {name} +{slowdown:g}% (K {k}) {i + 1}/{tries}: {plant.metric} "
                        f"{row['change_pct']:+.1f}% {c['verdict']}, exit {code}, {v['rounds']} rounds, {wall:.0f} s"
                        + (f", flame graph names {plant.function}: {row['why_names_it']}" if why else ""),
                        flush=True,
                    )
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    return 0


def _group(rows, key):
    out: dict = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return out


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
