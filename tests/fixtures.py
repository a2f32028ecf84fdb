"""Synthetic results documents for report and gate tests (the current schema version)."""

import random

from hdrh.histogram import HdrHistogram

from harness.record.model import SCHEMA_VERSION, from_doc, validate
from harness.record.stats import summarise_benchmark
from harness.subjects import SCENARIOS

RUNTIMES = ("go", "rust", "java")
COLOURS = {"go": "#0072B2", "rust": "#D55E00", "java": "#009E73"}
FLOOR = {
    "latency_p50_ns": 6e4,
    "latency_p99_ns": 2e5,
    "latency_p999_ns": 1e6,
    "uncorrected_p50_ns": 5.8e4,
    "send_lag_p50_ns": 1e3,
    "send_lag_p99_ns": 4e4,
}
BASE = {
    "spawn": {
        "tasks_per_sec": 8e5,
        "cpu_ns_per_task": 1300,
        "cold_tasks_per_sec": 5e5,
        "latency_mean_ns": 2e8,
        "latency_p99_ns": 4e8,
        "peak_rss_bytes": 3e8,
        "total_ns": 1.5e9,
        "process_cpu_s": 6.0,
    },
    "startup": {
        "time_to_first_answer_ns": 2e7,
        "cpu_to_first_answer_ns": 5e6,
        "idle_rss_bytes": 6e6,
        "time_to_ready_ns": 1.9e7,
        "process_cpu_s": 0.005,
    },
    "live": {
        "bytes_per_task": 1000,
        "time_to_plateau_ns": 2e9,
        "plateau_rss_bytes": 1e9,
        "release_ns": 1e9,
        "process_cpu_s": 3.0,
    },
    "http": {
        "kib_per_connection": 12,
        "cgroup_kib_per_connection": 20,
        "fit_r2": 0.99,
        "latency_p50_ns": 1e6,
        "latency_p99_ns": 3e6,
        "latency_p999_ns": 8e6,
        "max_requests_per_sec": 6e4,
        "cpu_us_per_request": 12.0,
        "cold_requests_per_sec": 5e4,
        "stage_cpu_us_per_request": 40.0,
        "uncorrected_p50_ns": 9e5,
        "send_lag_p50_ns": 1e3,
        "send_lag_p99_ns": 4e4,
        "overloaded_stages": 0,
        "errors": 0,
    },
}


def _latency(seed):
    """A latency summary as the load generator writes it, with its HdrHistogram."""
    h = HdrHistogram(1, 3_600_000_000, 3)
    rng = random.Random(seed)
    for _ in range(2000):
        h.record_value(int(800 + rng.expovariate(1 / 400)))
    enc = h.encode()
    return {
        "count": h.get_total_count(),
        "p50_us": h.get_value_at_percentile(50),
        "p90_us": h.get_value_at_percentile(90),
        "p99_us": h.get_value_at_percentile(99),
        "p999_us": h.get_value_at_percentile(99.9),
        "max_us": h.get_max_value(),
        "hdr": enc.decode() if isinstance(enc, bytes) else enc,
    }


def trial(scenario, runtime, rnd, rng, warmup=False, overloaded=False):
    factor = {"go": 1.0, "rust": 1.3, "java": 0.7, "zig": 0.1}.get(runtime, 1.0)
    base = FLOOR if runtime == "floor" else BASE[scenario]
    metrics = {k: v * factor * (1 + rng.gauss(0, 0.03)) for k, v in base.items()}
    t = {
        "ok": True,
        "error": None,
        "round": rnd,
        "warmup": warmup,
        "noisy": False,
        "started_at": 1.7e9 + rnd,
        "wall_s": 1.0,
        "metrics": metrics,
        "host_load": {"steal_pct": 0.0},
        "rss_series": [[i * 0.02, (1e7 + i * 1e6) * factor] for i in range(50)],
        "workload": {"settings": {"runtime_version": f"{runtime} 1"}},
    }
    if scenario == "http":
        t["observations"] = {
            "stages": [
                {
                    "stage": k,
                    "connections_open": c,
                    "connections_target": c,
                    "server_rss_bytes": 1e7 + c * 12 * 1024 * factor,
                    "achieved_rate": 800.0 if overloaded else 2000.0,
                    "target_rate": 2000.0,
                    "closed_by_server": 0,
                    "overloaded": overloaded,
                    "corrected": _latency(k + rnd),
                    "uncorrected": _latency(100 + k + rnd),
                    "lag": _latency(200 + k + rnd),
                }
                for k, c in enumerate((100, 250, 500) if runtime != "floor" else (500,))
            ]
        }
        if overloaded:
            t["incomparable"] = {
                "metrics": ["latency_p50_ns", "latency_p99_ns", "latency_p999_ns"],
                "reason": "overloaded: 800 of 2,000 req/s at 500 connections",
            }
    return t


def make_doc(
    arch="amd64",
    emulated=False,
    runtimes=RUNTIMES,
    status="complete",
    version_suffix="",
    sha="abc12345",
    scenarios=("spawn", "live", "http"),
    trials=5,
    seed=1,
    overloaded=(),
    floor=False,
    profiled=False,
):
    rng = random.Random(seed)
    benches = []
    for scenario in scenarios:
        for rt in runtimes:
            b = {
                "id": f"{scenario}/{rt}",
                "scenario": scenario,
                "runtime": rt,
                "params": {"tasks": 1000, "work": 100} if scenario != "http" else {"stages": [100, 250, 500]},
                "metrics": {m.key: m.to_json() for m in SCENARIOS[scenario].metrics},
                "settings": {"runtime_version": f"{rt} 1.0{version_suffix}", "gc": "G1"},
                "trials": [
                    trial(scenario, rt, r, rng, warmup=(r == 0), overloaded=f"{scenario}/{rt}" in overloaded)
                    for r in range(trials + 1)
                ],
            }
            if profiled:  # one profiled trial, as harness run --profile adds, and the build's footprint
                t = trial(scenario, rt, trials + 1, rng)
                t["excluded"] = "profiled: the profiler perturbs what it measures"
                stacks = {
                    f"main;{rt}.run;{rt}.{scenario};{rt}.work": 60 + rng.randint(0, 20),
                    f"main;{rt}.run;{rt}.{scenario};{rt}.spawn": 30,
                    f"main;{rt}.run;{rt}.gc": 10,
                }
                t["profile"] = {
                    "format": "folded",
                    "window": "saturate (measured windows)" if scenario == "http" else "whole run",
                    "samples": sum(stacks.values()),
                    "stacks": stacks,
                    "files": [{"path": f"r.profiles/{scenario}-{rt}/cpu.folded", "sha256": "0" * 64, "bytes": 100}],
                }
                b["trials"].append(t)
                b["build"] = {"footprint": {"program_bytes": 2_000_000, "runtime_bytes": 0, "total_bytes": 2_000_000}}
            b["summary"] = summarise_benchmark(b)
            benches.append(b)
    floor_bench = None
    if floor and "http" in scenarios:
        floor_bench = {
            "id": "http/floor",
            "scenario": "http",
            "runtime": "floor",
            "params": {"stages": [500]},
            "metrics": {m.key: m.to_json() for m in SCENARIOS["http"].metrics},
            "trials": [trial("http", "floor", r, rng, warmup=(r == 0)) for r in range(trials + 1)],
        }
    return {
        "schema": "harness-results",
        "schema_version": SCHEMA_VERSION,
        "status": status,
        "started_at": 1.7e9,
        "finished_at": 1.7e9 + 60,
        "arch": arch,
        "emulated": emulated,
        "backend": "native",
        "placement": {"engine": "native", "arch": "amd64", "local": True, "sampling": "psutil"},
        "host": {
            "hostname": "h",
            "cpu_model": "Test CPU",
            "cpu_count": 2,
            "kernel": "6.1",
            "governor": "unreadable",
            "no_turbo": "unreadable",
        },
        "harness_process": {"pid": None, "hostname": None, "create_time": None},
        "git": {"sha": sha * 5, "short_sha": sha, "dirty": False},
        "suite": {"name": "fixture", "trials": {"count": trials, "warmup": 1}},
        "cpu_plan": {"workload": [1], "loadgen": [0], "harness": [0], "workers": 1},
        "toolchains": {rt: {"version": f"{rt} toolchain"} for rt in runtimes},
        "subjects": {
            **{rt: {"runtime": rt, "colour": COLOURS.get(rt), "label": rt, **_identity(rt)} for rt in runtimes},
            "floor": {"runtime": "loadgen", "colour": "#777777", "label": "floor (instrument)"},
        },
        "benchmarks": benches,
        "floors": {"http": floor_bench} if floor_bench else {},
        "warnings": [],
    }


def _identity(rt: str) -> dict:
    """What the writer records of a subject's settings (its descriptor's keys, the suite's defaults)."""
    from harness.subjects import RUNTIMES

    return RUNTIMES[rt].identity(RUNTIMES[rt].default_settings()) if rt in RUNTIMES else {}


def make_results(**kw):
    """The typed view every reader gets (validated as load() validates a file)."""
    return from_doc(validate(make_doc(**kw), "fixture"))
