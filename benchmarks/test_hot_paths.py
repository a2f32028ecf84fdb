"""The harness's own hot paths (`make bench-harness`; not part of make test)."""

import json
import os
import random

import psutil

from harness.measure.sampler import Sampler
from harness.record import model as results


def test_one_sampler_tick(benchmark):
    s = Sampler(os.getpid(), 0.02)
    procs = [psutil.Process(os.getpid())]
    benchmark(s.tick, procs)


def _trial(i):
    return {
        "ok": True,
        "warmup": False,
        "round": i,
        "metrics": {
            "tasks_per_sec": random.gauss(1e6, 5e4),
            "latency_mean_ns": random.gauss(1e6, 1e5),
            "peak_rss_bytes": random.gauss(4e8, 1e6),
        },
        "host_load": {"steal_pct": 0.0},
        "rss_series": [[j * 0.02, 1e8 + j] for j in range(200)],
    }


def test_load_and_summarise_1000_trials(benchmark, tmp_path):
    meta = {
        k: {"label": k, "unit": "x", "better": "higher"} for k in ("tasks_per_sec", "latency_mean_ns", "peak_rss_bytes")
    }
    doc = {
        "schema": results.SCHEMA_NAME,
        "schema_version": results.SCHEMA_VERSION,
        "status": "complete",
        "arch": "amd64",
        "emulated": False,
        "backend": "native",
        "benchmarks": [
            {
                "id": f"spawn/{rt}",
                "scenario": "spawn",
                "runtime": rt,
                "params": {},
                "metrics": meta,
                "trials": [_trial(i) for i in range(334)],
            }
            for rt in ("go", "rust", "java")
        ],
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))

    def load_and_summarise():  # validation against the schema included
        return [b.summary for b in results.load(path).benchmarks]

    out = benchmark(load_and_summarise)
    assert out[0]["tasks_per_sec"]["n"] == 334


def test_render_site_index_of_100_releases(benchmark, tmp_path):
    from harness.output import site as site_module
    from tests.fixtures import make_results

    doc = make_results(scenarios=("spawn", "live"), trials=3)
    site = tmp_path / "site"
    for i in range(100):
        rel = site / "releases" / f"v1.{i}.0"
        rel.mkdir(parents=True)
        (rel / "headline.json").write_text(
            json.dumps({"release": f"v1.{i}.0", "labels": ["amd64"], "headline": site_module.headline_numbers([doc])})
        )
    benchmark.pedantic(site_module.render_index, args=(site,), rounds=3, iterations=1)
