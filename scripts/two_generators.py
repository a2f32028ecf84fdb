"""Does splitting the load between two generators change what is measured? One server, the same total
connections and rate, loaded in alternating runs by one generator (the first engine) and by two (both
engines, stages and rate split, starts synchronised, histograms merged). Prints, per runtime and
configuration, the median p50 and p99 at the largest stage with the range over trials, a Mann-Whitney U
test of one against two, the achieved rate against the target (worst stage), and each generator's clock
offset and round trip.

    .venv/bin/python scripts/two_generators.py --engines ENGINE1,ENGINE2 --server-address ADDRESS \\
        [--runtimes go] [--pairs 3] [--stages 1000,2000,4000] [--rate 4000] [--spin-us 2000]
    .venv/bin/python scripts/two_generators.py --rig [...]   # the same on this machine's namespaces rig

The engines must reach the server's address. `--rig` builds such a rig on this machine for the run and
takes it down after (tests/netns_engines.py: two engines in network namespaces joined to this host by
veth pairs; root, iproute2 and dockerd)."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(out: Path, engines: list[str], args) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "run",
        "--suite",
        "quick",
        "--backend",
        "docker",
        "--runtimes",
        args.runtimes,
        "--scenarios",
        "http",
        "--trials",
        "1",
        "--set",
        "trials.warmup=0",
        "--set",
        f'http.server_address="{args.server_address}"',
        "--set",
        f"http.stages=[{args.stages}]",
        "--set",
        f"http.rate_per_s={args.rate}",
        "--set",
        f"http.stage_duration_s={args.stage_s}",
        "--set",
        "http.saturate_duration_s=0.5",
        "--set",
        f"http.spin_us={args.spin_us}",
        "--loadgen-engines",
        ",".join(engines),
        "--out",
        str(out),
    ]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        raise SystemExit(f"two_generators: a run failed: {p.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", help="two Docker engines, comma-separated")
    ap.add_argument("--server-address")
    ap.add_argument("--rig", action="store_true", help="two engines in network namespaces of this machine")
    ap.add_argument("--runtimes", default="go")
    ap.add_argument("--pairs", type=int, default=3, help="runs of each configuration, alternated")
    ap.add_argument("--stages", default="1000,2000,4000")
    ap.add_argument("--rate", type=int, default=4000)
    ap.add_argument("--stage-s", type=float, default=5)
    ap.add_argument(
        "--spin-us",
        type=int,
        default=2000,
        help="http.spin_us: 0 where the generators share a CPU (this machine's rig): one's spin delays the other",
    )
    args = ap.parse_args(argv)
    if args.rig:
        sys.path.insert(0, str(ROOT))
        from tests import netns_engines

        with tempfile.TemporaryDirectory() as tmp, netns_engines.engines(Path(tmp), 2) as urls:
            args.server_address = netns_engines.SERVER_ADDRESS
            return compare(urls, args)
    if not args.engines or not args.server_address:
        raise SystemExit("two_generators: give --engines and --server-address, or --rig")
    return compare(args.engines.split(","), args)


def compare(engines: list[str], args) -> int:
    from scipy.stats import mannwhitneyu

    if len(engines) != 2:
        raise SystemExit("two_generators: --engines takes exactly two engines")
    configs = {"one generator": engines[:1], "two generators": engines}
    trials: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.pairs):
            for name, which in configs.items():
                doc = one_run(Path(tmp) / f"{k}-{len(which)}.json", which, args)
                for b in [*doc["benchmarks"], doc["floors"]["http"]]:
                    trials.setdefault((b["runtime"], name), []).extend(t for t in b["trials"] if t["ok"])
    print(
        f"one server, {args.stages} connections at {args.rate:,} req/s, spin {args.spin_us} µs; "
        f"{args.pairs} alternated run(s) each"
    )
    for runtime in sorted({r for r, _ in trials}):
        for hist, key in (("corrected", "p50_us"), ("corrected", "p99_us"), ("lag", "p99_us")):
            series = {}
            for name in configs:
                series[name] = [t["observations"]["stages"][-1][hist][key] for t in trials[(runtime, name)]]
                v = series[name]
                label = key[:3] if hist == "corrected" else "send lag p99"
                print(
                    f"  {runtime:6} {name:15} {label} {statistics.median(v):8,.0f} µs "
                    f"(range {min(v):,} .. {max(v):,}, n={len(v)})"
                )
            a, b = series.values()
            if len(a) >= 2 and len(b) >= 2:
                p = mannwhitneyu(a, b).pvalue
                label = key[:3] if hist == "corrected" else "send lag p99"
                print(f"  {runtime:6} {label} one vs two: Mann-Whitney p = {p:.2f}")
        for name in configs:
            worst = max(
                abs(st["achieved_rate"] / st["target_rate"] - 1)
                for t in trials[(runtime, name)]
                for st in t["observations"]["stages"]
            )
            print(f"  {runtime:6} {name:15} rate held to {100 * worst:.2f}% of the target (worst stage)")
        clocks = [
            (g["generator"], g["clock_offset_ns"], g["clock_rtt_ns"], g.get("start_late_ns", 0))
            for t in trials[(runtime, "two generators")]
            for g in t["observations"]["stages"][-1].get("generators", [])
        ]
        for gen, offset, rtt, late in clocks[:4]:
            print(
                f"  {runtime:6} {gen}: clock offset {offset / 1e6:+.3f} ms ± {rtt / 2e6:.3f} ms, "
                f"start taken up {late / 1e6:.3f} ms late"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
