import pytest

from harness.record import stats
from harness.subjects.scenarios import checksum


def test_median_ci_order_statistics():
    lo, hi, cov = stats.median_ci([5, 1, 4, 2, 3])
    assert (lo, hi) == (1, 5) and cov == pytest.approx(0.9375)  # n=5 cannot reach 95%: full range, true coverage
    xs = list(range(1, 21))
    lo, hi, cov = stats.median_ci(xs)
    assert lo <= 10.5 <= hi and cov >= 0.95 and (lo, hi) != (1, 20)


def test_summarise_fields_and_cv():
    s = stats.summarise([10, 10, 10])
    assert s["median"] == 10 and s["cv"] == 0 and s["min"] == s["max"] == 10 and s["n"] == 3
    assert stats.summarise([]) == {"n": 0}
    assert stats.summarise([7])["cv"] is None


def test_summary_ignores_warmup_failed_and_excluded_trials():
    bench = {
        "trials": [
            {"ok": True, "warmup": True, "metrics": {"m": 1000}},
            {"ok": True, "warmup": False, "metrics": {"m": 1}},
            {"ok": False, "warmup": False, "metrics": {"m": 999}},
            {"ok": True, "warmup": False, "excluded": "noisy", "metrics": {"m": 500}},
            {"ok": True, "warmup": False, "metrics": {"m": 3}},
        ]
    }
    s = stats.summarise_benchmark(bench)["m"]
    assert s["n"] == 2 and s["median"] == 2


def test_checksum_matches_protocol_vectors():
    assert checksum.work(0, 1) == 0xE220A8397B1DCDAF
    assert checksum.work(1, 1) == 0x910A2DEC89025CC1
    assert checksum.work(12345, 100) == 0xD19C70D5F6532370
    assert checksum.expected_checksum(1000, 100) == "3a8439e46579c231"
    n = 12345
    assert checksum.expected_checksum(n, 0) == f"{n * (n - 1) // 2:016x}"
