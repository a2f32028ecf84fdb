"""Variants (a runtime plus named overrides, run as its own subject) and the
build scenario: validation in one line, two Go toolchains in one real run, a
Rust allocator, incremental against clean builds, and a gate that refuses to
compare toolchains it was not told to."""

import json

import pytest

from harness import config
from harness.backends.native import build
from harness.errors import HarnessError
from harness.gate import compare
from harness.record.model import from_doc, validate
from harness.subjects import RUNTIMES
from tests.conftest import one_line_error, run_harness
from tests.fixtures import make_doc


def test_variants_are_declared_validated_and_placed_beside_their_runtime():
    s = config.load_suite("quick", ['variants."go@gc400".env={GOGC="400"}', 'variants."java@zgc".gc="Z"'])
    assert s.runtimes.index("go@gc400") == s.runtimes.index("go@size") + 1  # after its runtime's subjects
    assert s.runtime_settings["go@gc400"]["env"] == {"GOGC": "400"} and s.runtime_settings["java@zgc"]["gc"] == "Z"
    assert s.runtime_of("java@zgc") == "java" and s.variants["java@zgc"].scenarios is None
    # a size variant runs where it says, and is no subject of a suite without those scenarios
    assert "go@size" in s.subjects_for("build") and "go@size" not in s.subjects_for("spawn")
    assert "go@size" not in config.restrict(s, None, ["spawn"], None).runtimes
    # --runtimes names exactly the subjects; the round trip through the results file keeps every variant
    only = config.restrict(s, ["go", "go@gc400"], None, None)
    assert only.runtimes == ["go", "go@gc400"]
    again = config.validate({k: v for k, v in only.to_json().items() if k != "source"})
    assert again.runtimes == only.runtimes and again.runtime_settings == only.runtime_settings


@pytest.mark.parametrize(
    "sets, needle",
    [
        (['variants."kotlin@1".env={}'], "unknown runtime 'kotlin'"),
        (['variants."go@1".colour="red"'], 'unknown suite key variants."go@1".colour'),
        (['variants."go@x".scenarios=["dance"]'], "scenarios must be a list"),
        (['variants.fast.gc="Z"'], "RUNTIME@NAME"),
        (['variants."go@bad name".env={}'], "letters, digits"),
        (['variants."java@1".gc="Magic"'], "gc must be one of"),
    ],
)
def test_bad_variants_are_one_line(sets, needle):
    with pytest.raises(HarnessError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        config.load_suite("quick", sets)


def test_a_runtime_key_sweep_makes_one_variant_per_value():
    s = config.load_suite("quick", [], ["runtime.java.gc=G1,Z"])
    assert [r for r in s.runtimes if r.startswith("java@gc")] == [
        "java@gc=G1",
        "java@gc=Z",
    ] and "java" not in s.runtimes
    assert s.variants["java@gc=Z"].swept == ("gc", "Z")
    with pytest.raises(HarnessError, match="name a runtime setting"):
        config.load_suite("quick", [], ["runtime.go.colour=1,2"])


def test_the_cli_refuses_what_cannot_be_built_in_one_line(tmp_path):
    one_line_error(
        run_harness(
            "run",
            "--suite",
            "quick",
            "--backend",
            "native",
            "--scenarios",
            "spawn",
            "--runtimes",
            "go@x",
            "--variant",
            "go@x:toolchain=1.99.0",
            "--out",
            str(tmp_path / "r.json"),
        ),
        2,
        "Go toolchain go1.99.0 cannot be had",
    )
    one_line_error(
        run_harness(
            "run",
            "--suite",
            "quick",
            "--scenarios",
            "spawn",
            "--variant",
            "go:toolchain=1",
            "--out",
            str(tmp_path / "r.json"),
        ),
        2,
        "--variant",
        "RUNTIME@NAME",
    )
    one_line_error(
        run_harness(
            "run",
            "--suite",
            "quick",
            "--backend",
            "native",
            "--scenarios",
            "spawn",
            "--runtimes",
            "rust@n",
            "--variant",
            "rust@n:toolchain=no-such-toolchain",
            "--out",
            str(tmp_path / "r.json"),
        ),
        2,
        "Rust toolchain 'no-such-toolchain' is not installed",
    )
    assert not (tmp_path / "r.json").exists()  # refused before anything was built or run


def test_two_go_toolchains_in_one_run_record_both_and_agree(tmp_path, workloads):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "spawn",
        "--runtimes",
        "go,go@1.24",
        "--variant",
        'go@1.24:toolchain=1.24.13,env={GOGC="400"}',
        "--trials",
        "2",
        "--set",
        "spawn.tasks=5000",
        "--out",
        str(out),
        timeout=900,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    by = {b["runtime"]: b for b in doc["benchmarks"]}
    assert (
        "go1.24.13" in doc["toolchains"]["go@1.24"]["version"] and "go1.24.13" not in doc["toolchains"]["go"]["version"]
    )
    assert by["go@1.24"]["settings"]["runtime_version"] == "go1.24.13"
    assert by["go@1.24"]["settings"]["GOGC_env"] == "400" and by["go@1.24"]["settings"]["GOGC"] == "400"
    checksums = {t["workload"]["checksum"] for b in by.values() for t in b["trials"]}
    assert len(checksums) == 1 and all(t["ok"] for b in by.values() for t in b["trials"])
    assert (
        doc["subjects"]["go@1.24"]["runtime"] == "go"
        and doc["subjects"]["go@1.24"]["colour"] != doc["subjects"]["go"]["colour"]
    )
    assert "go@1.24: go version go1.24.13" in p.stdout  # the subjects' legend under the tables


def test_a_rust_variant_with_another_allocator_builds_and_records_it(tmp_path, workloads):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "spawn",
        "--runtimes",
        "rust@mimalloc",
        "--variant",
        'rust@mimalloc:features=["mimalloc"]',
        "--trials",
        "1",
        "--set",
        "spawn.tasks=5000",
        "--out",
        str(out),
        timeout=900,
    )
    assert p.returncode == 0, p.stderr
    (b,) = json.loads(out.read_text())["benchmarks"]
    assert b["settings"]["allocator"].startswith("mimalloc") and b["build"]["flags"]["features"] == ["mimalloc"]
    assert b["trials"][0]["ok"]


def test_the_build_scenario_times_clean_and_incremental_builds_with_their_flags(tmp_path, workloads):
    # one clean build (Go's, the standard library rebuilt in an empty cache: the shortest clean build
    # there is), of the stripped variant, beside the plain build the workloads fixture made
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "build",
        "--runtimes",
        "go@size",
        "--variant",
        "go@size:ldflags=-s -w",
        "--set",
        "build.clean=true",
        "--set",
        "build.trials=1",
        "--out",
        str(out),
        timeout=900,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    (b,) = doc["benchmarks"]
    (t,) = b["trials"]
    assert t["ok"], t["error"]
    m = t["metrics"]
    assert 0 < m["incremental_build_s"] < m["clean_build_s"] and m["clean_build_cpu_s"] > 0
    assert m["program_bytes"] > 1_000_000 and t["observations"]["fresh_tree"] is True
    assert b["build"]["flags"]["ldflags"] == "-s -w"
    plain = RUNTIMES["go"]
    plain_bytes = (build(plain, plain.toolchain()).artifact_dir / "workload").stat().st_size
    assert m["program_bytes"] < plain_bytes  # no symbol table, no DWARF
    assert "what each build made, and its flags" in p.stdout and "ldflags=-s -w" in p.stdout


def test_the_gate_refuses_mixed_toolchains_unless_told():
    base, cand = make_doc(), make_doc(seed=2)
    cand["toolchains"]["go"] = {"version": "go version go1.24.13 linux/amd64"}
    b, c = (from_doc(validate(d, "fixture")) for d in (base, cand))
    with pytest.raises(HarnessError, match="the toolchain of go differs"):
        compare.gate(b, c)
    assert compare.gate(b, c, compare.Options(force=True))
    assert compare.gate(b, c, compare.Options(ignore_params=frozenset({"runtime.go.toolchain"})))


def test_a_jlinked_java_builds_again_in_the_build_scenario(tmp_path, workloads):
    # the warm copy's build, then its incremental rebuild: jlink must replace the runtime it made
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "build",
        "--runtimes",
        "java@jlink",
        "--out",
        str(out),
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    (b,) = json.loads(out.read_text())["benchmarks"]
    (t,) = b["trials"]
    assert t["ok"], t["error"]
    m = t["metrics"]
    assert m["incremental_build_s"] > 0 and m["total_bytes"] > m["program_bytes"] > 0  # the runtime ships with it
