"""Zig, the fourth runtime: its compiler comes with the harness (PyPI, pinned), a version that cannot be
had is refused in one line, and what it does not measure or measures differently reaches every reader
through the results file (live: not measured, and why; spawn: a pool, ranked apart)."""

import json
import tomllib

import pytest

from harness.errors import HarnessError
from harness.record.model import from_doc
from harness.subjects import RUNTIMES
from harness.subjects.runtimes import zig
from tests.conftest import ROOT, one_line_error, run_harness


def test_the_pinned_zig_is_a_dependency_of_the_harness_and_is_the_one_found():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"ziglang=={zig.PINNED}" in deps  # pip brings it with the harness: no manual step on a new machine
    assert RUNTIMES["zig"].toolchain().version == f"zig {zig.PINNED}"


def test_without_the_pinned_zig_the_descriptor_says_what_to_do(monkeypatch):
    monkeypatch.setattr(zig, "_zig_in", lambda site: None)
    with pytest.raises(HarnessError, match=r"Zig 0\.17\.1 is not installed in the harness's Python .* make setup"):
        zig.find_toolchain()


def test_a_zig_that_cannot_be_installed_is_refused_in_one_line(tmp_path):
    p = run_harness(
        *("run", "--suite", "quick", "--backend", "native", "--scenarios", "spawn", "--runtimes", "zig@x"),
        *("--variant", "zig@x:toolchain=0.0.99", "--out", str(tmp_path / "r.json")),
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    one_line_error(p, 2, "Zig 0.0.99 cannot be installed from PyPI")
    assert not (tmp_path / "r.json").exists()


def test_live_is_not_measured_and_spawn_is_labelled_in_the_results_file_and_the_summary(tmp_path):
    out = tmp_path / "r.json"
    p = run_harness(
        *("run", "--suite", "quick", "--backend", "native", "--runtimes", "go,zig", "--scenarios", "spawn,live"),
        *("--trials", "1", "--set", "spawn.tasks=2000", "--set", "live.tasks=2000", "--set", "live.warmup_trials=0"),
        *("--set", "spawn.warmup_iterations=0", "--set", "spawn.iterations=1", "--out", str(out)),
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    why = RUNTIMES["zig"].not_measured["live"]
    assert doc["subjects"]["zig"]["not_measured"] == {"live": why}
    assert doc["subjects"]["zig"]["labels"] == {"spawn": "pool, not a task per unit"}
    assert {b["id"] for b in doc["benchmarks"]} == {"spawn/go", "spawn/zig", "live/go"}  # no live trial for zig
    zig_spawn = next(b for b in doc["benchmarks"] if b["id"] == "spawn/zig")
    assert all(t["ok"] for t in zig_spawn["trials"])  # its checksum agreed
    results = from_doc(doc)
    assert results.not_measured("live") == {"zig": why} and results.label_of("zig", "spawn")
    summary = run_harness("summary", str(out)).stdout
    assert f"zig: not measured — {why}" in " ".join(summary.split())
    assert "pool, not a task per unit — ranked apart" in " ".join(summary.split())


def test_a_scenario_no_subject_measures_is_refused_in_one_line_or_left_out(tmp_path):
    why = RUNTIMES["zig"].not_measured["live"]
    alone = ("run", "--suite", "quick", "--backend", "native", "--runtimes", "zig")
    out = tmp_path / "r.json"
    one_line_error(
        run_harness(*alone, "--scenarios", "live", "--out", str(out)),
        2,
        "live: no subject of this run measures it",
        why,
    )
    assert not out.exists()
    p = run_harness(
        *alone, "--scenarios", "spawn,live", "--trials", "1", "--set", "spawn.tasks=1000", "--out", str(out)
    )
    assert p.returncode == 0 and "skipping live: no subject of this run measures it" in p.stderr, p.stderr
    assert [b["id"] for b in json.loads(out.read_text())["benchmarks"]] == ["spawn/zig"]


def test_make_env_says_which_runtimes_measure_each_scenario():
    p = run_harness("env")  # its report goes to stderr
    text = " ".join(p.stderr.split())
    live = text[text.index("scenario live:") : text.index("scenario http:")]
    assert p.returncode == 0 and "zig" not in live.split("(")[0] and "not measured by zig" in live, p.stderr
