"""The http load split between several generators and merged back (harness/subjects/scenarios/http_load.py),
and the host limits a ramp to many connections needs, each refused in one line with its fix."""

import random

import pytest
from hdrh.histogram import HdrHistogram

from harness.errors import TrialError
from harness.subjects.scenarios import http_load
from harness.subjects.scenarios.http import limit_problems, port_count, source_addresses


def summary_of(values: list[int]) -> dict:
    """What the load generator reports of one histogram (stats::summary), from microsecond values."""
    h = HdrHistogram(1, 3_600_000_000, 3)
    for v in values:
        h.record_value(v)
    return {
        "count": h.get_total_count(),
        "mean_us": sum(values) / len(values),
        "p50_us": h.get_value_at_percentile(50),
        "p90_us": h.get_value_at_percentile(90),
        "p99_us": h.get_value_at_percentile(99),
        "p999_us": h.get_value_at_percentile(99.9),
        "max_us": h.get_max_value(),
        "hdr": h.encode().decode(),
    }


def test_merged_histograms_are_exactly_the_histogram_of_all_the_samples():
    rng = random.Random(7)
    samples = [int(rng.lognormvariate(6, 1.2)) + 1 for _ in range(20_000)]
    parts = [samples[:3_000], samples[3_000:11_000], samples[11_000:]]  # uneven shares, as a slow host's
    merged = http_load.merge_histograms([summary_of(p) for p in parts])
    whole = summary_of(samples)
    for key in ("count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"):
        assert merged[key] == whole[key], key
    assert merged["mean_us"] == pytest.approx(whole["mean_us"])
    a, b = HdrHistogram.decode(merged["hdr"]), HdrHistogram.decode(whole["hdr"])
    assert [(v.value_iterated_to, v.count_at_value_iterated_to) for v in a.get_recorded_iterator()] == [
        (v.value_iterated_to, v.count_at_value_iterated_to) for v in b.get_recorded_iterator()
    ]
    # an average of the parts' p99s is not the p99 of the whole: what the merge must never do
    assert sum(summary_of(p)["p99_us"] for p in parts) / 3 != whole["p99_us"]


def stage_part(values: list[int], target_rate: float, achieved_rate: float, connections: int) -> dict:
    return {
        "type": "stage_end",
        "stage": 0,
        "connections_target": connections,
        "connections_open": connections,
        "connect_failures": 0,
        "closed_by_server": 0,
        "requests_sent": len(values),
        "requests_ok": len(values),
        "requests_failed": 0,
        "requests_unsent": 0,
        "late_sends": 0,
        "target_rate": target_rate,
        "achieved_rate": achieved_rate,
        "duration_s": 3.0,
        "open_s": 0.1,
        "loadgen_cpu_s": 1.0,
        "loadgen_busy": 0.3,
        "workers": 1,
        "start_late_ns": 0,
        "corrected": summary_of(values),
        "uncorrected": summary_of(values),
        "lag": summary_of([1] * len(values)),
    }


def test_a_stage_of_two_generators_adds_their_counters_and_keeps_each_ones_rate_and_lag():
    clocks = [http_load.Clock(10, 2_000), http_load.Clock(-5, 3_000)]
    merged = http_load.merge_parts(
        [stage_part([100] * 500, 500, 499, 50), stage_part([300] * 500, 500, 420, 50)],
        ["unix:///a.sock", "unix:///b.sock"],
        clocks,
        0.05,
    )
    assert merged["connections_open"] == 100 and merged["requests_ok"] == 1000
    assert merged["target_rate"] == 1000 and merged["achieved_rate"] == 919
    assert merged["corrected"]["count"] == 1000 and merged["corrected"]["p50_us"] in (100, 300)
    first, second = merged["generators"]
    assert (first["generator"], first["clock_offset_ns"], first["behind"]) == ("unix:///a.sock", 10, False)
    assert second["behind"] is True  # 420 of its 500/s: the stage was not at its load, and it says who
    assert http_load.short_of_rate(merged, 0.05)
    # one generator: its own result, untouched
    only = stage_part([1], 1, 1, 1)
    assert http_load.merge_parts([only], ["local"], [http_load.Clock()], 0.05) is only


def test_stages_and_connections_split_between_generators():
    assert http_load.shares(10_001, 2) == [5_001, 5_000]
    assert http_load.split_stages([100, 200, 301], 2) == [[50, 100, 151], [50, 100, 150]]
    with pytest.raises(TrialError, match="cannot be split between 3 load generators"):
        http_load.split_stages([3, 4], 3)


def test_sources_cover_the_connections_one_address_cannot():
    params: dict = {"source_addresses": []}
    assert source_addresses(params, 20_000, 28_232) == []  # one address suffices: the kernel's choice
    assert source_addresses(params, 100_000, 28_232) == [f"127.0.0.{k}" for k in range(1, 5)]
    assert source_addresses({"source_addresses": ["10.0.0.2"]}, 100_000, 28_232) == ["10.0.0.2"]
    assert port_count("32768\t60999") == 28_232 and port_count(None) == 28_232


HOST = {
    "somaxconn": "4096",
    "ip_local_port_range": "32768 60999",
    "nf_conntrack_max": "262144",
    "nf_conntrack_count": "100",
    "threads_max": "192735",
    "pid_max": "32768",
    "max_map_count": "65530",
}


def test_each_host_limit_a_ramp_needs_is_refused_in_one_line_with_its_fix():
    assert limit_problems(10_000, 1, 1, HOST) == ([], [])
    errors, _ = limit_problems(100_000, 1, 0, HOST)
    assert len(errors) == 1 and "28,232" in errors[0] and "http.source_addresses" in errors[0]
    assert limit_problems(100_000, 4, 0, HOST) == ([], [])
    errors, _ = limit_problems(100_000, 4, 1, HOST)  # a thread per connection: pids and mappings too
    assert [e.split("needs ")[1].split(" of")[0] for e in errors] == ["kernel.pid_max", "vm.max_map_count"]
    assert all("sysctl -w" in e and "\n" not in e for e in errors)
    errors, _ = limit_problems(300_000, 11, 0, HOST)
    assert len(errors) == 1 and "net.netfilter.nf_conntrack_max" in errors[0]
    assert limit_problems(300_000, 11, 0, {**HOST, "nf_conntrack_max": None})[0] == []  # not loaded: no check
    _, warnings = limit_problems(1_000, 1, 0, {**HOST, "somaxconn": "128"})
    assert warnings and "net.core.somaxconn" in warnings[0]


def test_default_addresses_stay_out_of_the_benchmarks_params_so_older_results_still_compare():
    from harness import config
    from harness.subjects import SCENARIOS

    http = SCENARIOS["http"]
    assert not {"source_addresses", "server_address"} & set(http.params(config.load_suite("quick", [])))
    named = config.load_suite("quick", ['http.server_address="10.0.0.5"', 'http.source_addresses=["10.0.0.6"]'])
    assert http.params(named)["server_address"] == "10.0.0.5"
    assert http.workload_env(http.params(named)) == {"WORKLOAD_LISTEN": "10.0.0.5"}
    assert http.workload_env(http.params(config.load_suite("quick", []))) == {}
