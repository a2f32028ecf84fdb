import os
import stat

import pytest

from harness.errors import HarnessError
from harness.measure import cpuplan
from harness.subjects.runtimes import go, java, rust


def test_parse_cpu_list():
    assert cpuplan.parse_cpu_list("0-2,5", "workload") == [0, 1, 2, 5]
    assert cpuplan.parse_cpu_list("all", "workload") == sorted(os.sched_getaffinity(0))
    for bad in ("x", "2-1", "-1", ""):
        with pytest.raises(HarnessError, match="cpus.workload"):
            cpuplan.parse_cpu_list(bad, "workload")


def test_plan_validates_against_allowed_cpus():
    allowed = sorted(os.sched_getaffinity(0))
    outside = str(max(allowed) + 1)
    with pytest.raises(HarnessError, match="outside the CPUs"):
        cpuplan.make_plan({"workload": outside, "loadgen": "0", "harness": "0"}, need_loadgen=False)
    plan = cpuplan.make_plan(
        {"workload": str(allowed[-1]), "loadgen": str(allowed[0]), "harness": str(allowed[0])}, need_loadgen=False
    )
    assert plan.workers == 1


def test_loadgen_may_not_share_the_workload_cpu():
    cpu = str(sorted(os.sched_getaffinity(0))[0])
    with pytest.raises(HarnessError, match="never share"):
        cpuplan.make_plan({"workload": cpu, "loadgen": cpu, "harness": cpu}, need_loadgen=True)


def test_pinned_children_restores_affinity():
    before = os.sched_getaffinity(0)
    with cpuplan.pinned_children([sorted(before)[0]]):
        assert os.sched_getaffinity(0) == {sorted(before)[0]}
    assert os.sched_getaffinity(0) == before


def fake_jdk(root, major: str):
    home = root / f"jdk-{major}"
    (home / "bin").mkdir(parents=True)
    for tool in ("java", "javac"):
        p = home / "bin" / tool
        p.write_text(f"#!/bin/sh\necho 'openjdk version \"{major}\"' >&2\n")
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    (home / "release").write_text(f'JAVA_VERSION="{major}"\n')
    return home


def test_java_home_older_than_21_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(fake_jdk(tmp_path, "17.0.9")))
    with pytest.raises(HarnessError, match="JDK 17; virtual threads need JDK 21"):
        java.find_jdk()


def test_java_home_21_is_taken_as_is(tmp_path, monkeypatch):
    home = fake_jdk(tmp_path, "21.0.2")
    monkeypatch.setenv("JAVA_HOME", str(home))
    tc = java.find_jdk()
    assert tc.paths["java_home"] == str(home) and tc.paths["major"] == "21"


def test_no_jdk_21_anywhere_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    fake_jdk(tmp_path, "17.0.9")
    monkeypatch.setattr(java, "JDK_SEARCH_GLOBS", (str(tmp_path / "*"),))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(HarnessError, match="no JDK 21 or newer found .*JDK 17.*install"):
        java.find_jdk()


def test_missing_go_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(HarnessError, match="Go toolchain not found.*install Go"):
        go.find_toolchain()
    with pytest.raises(HarnessError, match="rustup"):
        rust.find_toolchain()
