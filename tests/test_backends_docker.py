"""The docker backend for real: base images bootstrapped without a registry,
workload images cached by content, one pinned container per trial sampled
through its PID and cgroup, no container left after a timeout, a Ctrl-C or a
dead harness, a remote engine over TCP, and arm64 under qemu emulation.

These tests need a Docker engine (.ci/run starts one) and fail without it:
they are never skipped. `make test-native` leaves them out on a machine
without an engine.
"""

import json
import signal
import socket
import subprocess
import time

import pytest

from harness.backends.docker import DockerBackend, containers
from harness.backends.docker import base_images as images
from harness.backends.docker import engine as docker_engine
from harness.errors import HarnessError
from harness.subjects import LOADGEN
from harness.subjects.runtimes.runtime import BaseImageSpec
from tests.conftest import ROOT, harness_cmd, one_line_error, run_harness

pytestmark = pytest.mark.docker
SMALL = ["--set", "spawn.tasks=50000", "--set", "live.tasks=5000"]  # a spawn trial long enough for several samples
REMOTE = "tcp://127.0.0.1:2375"  # .ci/run starts dockerd listening here too


@pytest.fixture(scope="module")
def engine():
    e = docker_engine.connect()
    assert e is not None, "no Docker engine answers: start dockerd (see README) or run make test-native"
    return e


@pytest.fixture(scope="module")
def bases(engine):
    """Every amd64 base image, and the arm64 runtime image Go needs (present ones are kept)."""
    wanted = images.needed(
        {"toolchain-go", "toolchain-rust", "toolchain-java", "runtime-base", "runtime-java"}, engine.arch, engine.arch
    )
    wanted += images.needed({"runtime-base"}, engine.arch, "arm64")
    return images.bootstrap(engine.client, wanted, print)


def managed_containers(engine) -> list:
    return engine.client.containers.list(all=True, filters={"label": f"{containers.LABEL}.managed=1"})


def test_base_images_are_labelled_with_arch_and_package_versions(engine, bases):
    by_base = {(b["tag"].split("/")[1].split(":")[0], b["arch"]): b for b in bases}
    assert by_base[("toolchain-go", engine.arch)]["packages"].count("golang-go=") == 1
    assert "rustc=" in by_base[("toolchain-rust", engine.arch)]["packages"]
    assert "openjdk-21-jre-headless=" in by_base[("runtime-java", engine.arch)]["packages"]
    assert by_base[("runtime-base", "arm64")]["arch"] == "arm64"  # docker import records amd64: the label is the truth
    again = images.bootstrap(engine.client, [images.Needed(images.known_bases()["runtime-base"], "arm64")], print)
    assert again[0]["cached"] is True


def test_recipe_hash_changes_with_packages():
    base = images.known_bases()["runtime-base"]
    assert base.tag("amd64") == base.tag("amd64")
    assert base.tag("amd64") != base.tag("arm64")
    other = images.BaseImage(BaseImageSpec("runtime-base", "runtime", "extract", lambda a: ["base-files", "libc6"]))
    assert other.tag("amd64") != base.tag("amd64")
    assert images._deb_versions(
        "libc6_2.41-12_arm64.deb golang-go_2%3a1.24~2_all.deb partial", ["libc6", "golang-go", "gcc:arm64"]
    ) == {"libc6": "2.41-12", "golang-go": "2:1.24~2"}


def test_spawn_and_live_in_containers(tmp_path, engine, bases):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "docker",
        "--scenarios",
        "spawn,live",
        "--trials",
        "1",
        *SMALL,
        "--out",
        str(out),
        timeout=1200,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["backend"] == "docker" and doc["emulated"] is False
    assert (
        doc["placement"]["local"] is True and doc["placement"]["engine_hostname"] and doc["placement"]["server_version"]
    )
    versions = {n: t["version"] for n, t in doc["toolchains"].items()}
    assert (
        versions["go"].startswith("go version go1.") and "rustc" in versions["rust"] and "openjdk" in versions["java"]
    )
    for b in doc["benchmarks"]:
        assert b["build"]["image_id"].startswith("sha256:") and b["build"]["arch"] == engine.arch
        assert b["build"]["base_images"]["RUNTIME_IMAGE"]["tag"].startswith(images.REPOSITORY)
        trial = b["trials"][-1]
        assert trial["ok"], trial["error"]
        assert trial["workload"]["workers"] == doc["cpu_plan"]["workers"]
        assert trial["cgroup_series"] and all(cg > 0 for _, cg, _ in trial["cgroup_series"] if cg is not None)
        key = "cgroup_peak_bytes" if b["scenario"] == "spawn" else "cgroup_plateau_bytes"
        assert trial["metrics"][key] > 0
        # the whole container's CPU time, exactly, from its parent cgroup after it exited
        assert "cgroup" in trial["cpu"]["source"] and trial["metrics"]["process_cpu_s"] > 0
        if b["scenario"] == "spawn":
            assert trial["metrics"]["cpu_ns_per_task"] > 0 and trial["metrics"]["cold_tasks_per_sec"] > 0
    assert managed_containers(engine) == []
    # the content cache: a second run builds no image; its profiles come out of the containers,
    # startup is timed from the container's creation, and what ships includes each image
    out2 = tmp_path / "r2.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "docker",
        "--scenarios",
        "spawn,startup",
        "--runtimes",
        "go,rust,java",  # the first run's subjects: the suite's size variants would be new images here
        "--trials",
        "1",
        "--set",
        "trials.warmup=0",
        *SMALL,
        "--profile",
        "--out",
        str(out2),
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    # the three images of the first run come from the cache (startup's floor, the load generator's responder,
    # is the one image the first run did not need)
    assert all(f"docker build cbh/{rt}:" not in p.stderr for rt in ("go", "rust", "java")) and all(
        f"image {rt}: cached cbh/" in p.stderr for rt in ("go", "rust", "java")
    ), p.stderr
    doc = json.loads(out2.read_text())
    own = {"go": "main.spawnRound", "rust": "workload::spawn::", "java": "bench.Spawn."}
    for b in doc["benchmarks"]:
        fp = b["build"]["footprint"]
        assert 0 < fp["program_bytes"] < fp["image_bytes"], fp
        profiled = next(t for t in b["trials"] if t.get("profile"))
        assert profiled["ok"], profiled["error"]
        if b["scenario"] == "spawn":
            assert any(own[b["runtime"]] in s for s in profiled["profile"]["stacks"]), b["id"]
            assert all((out2.parent / f["path"]).stat().st_size == f["bytes"] for f in profiled["profile"]["files"])
        else:
            measured = [t for t in b["trials"] if not t.get("excluded")]
            assert measured[0]["ok"] and measured[0]["metrics"]["time_to_first_answer_ns"] > 0, measured[0]["error"]
    assert managed_containers(engine) == []


def test_http_in_containers_host_network(tmp_path, engine, bases):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "docker",
        "--scenarios",
        "http",
        "--trials",
        "1",
        "--set",
        "trials.warmup=0",
        "--set",
        "http.stages=[50, 150]",
        "--set",
        "http.stage_duration_s=1",
        "--set",
        "http.saturate_duration_s=1",
        "--set",
        "http.warmup_s=0.5",
        "--profile",
        "--out",
        str(out),
        timeout=1200,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["loadgen"]["image"].startswith("cbh/loadgen:")
    for b in doc["benchmarks"]:
        trial = next(t for t in b["trials"] if not t.get("excluded"))
        assert trial["ok"], trial["error"]
        assert trial["metrics"]["errors"] == 0
        # the profile window opened and closed through the container's attached stdin, files copied out
        # (Zig, built in its image by cross-compiling like the others, has no profiler: none is planned)
        if doc["subjects"][b["runtime"]].get("no_profiler"):
            assert not any(t.get("profile") for t in b["trials"]), b["id"]
        else:
            profiled = next(t for t in b["trials"] if t.get("profile"))
            assert profiled["ok"] and profiled["profile"]["window"] == "saturate (measured windows)", profiled["error"]
            assert profiled["profile"]["samples"] > 0, b["id"]
        for stage in trial["observations"]["stages"]:
            assert stage["connections_open"] == stage["connections_target"]
            assert stage["server_cgroup_bytes"] > 0 and stage["server_sock_bytes"] is not None
    assert managed_containers(engine) == []


def test_failed_container_reports_its_stderr_and_is_removed(tmp_path, engine, bases):
    f = tmp_path / "bad.toml"
    f.write_text(
        'name = "bad"\nruntimes = ["java"]\nscenarios = ["spawn"]\n[trials]\ncount = 1\nwarmup = 0\n'
        '[spawn]\ntasks = 100\n[runtime.java]\njvm_flags = ["-XX:+NoSuchOption"]\n'
    )
    out = tmp_path / "r.json"
    p = run_harness("run", "--suite", str(f), "--backend", "docker", "--out", str(out), timeout=600)
    assert p.returncode == 1, p.stderr
    trial = json.loads(out.read_text())["benchmarks"][0]["trials"][0]
    assert "exit code 1" in trial["error"], trial["error"]
    assert any("NoSuchOption" in line for line in trial["stderr_tail"]), trial["stderr_tail"]
    assert managed_containers(engine) == []


def test_timeout_kills_and_removes_the_container(tmp_path, engine, bases):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "docker",
        "--runtimes",
        "go",
        "--scenarios",
        "live",
        "--trials",
        "1",
        "--set",
        "trials.warmup=0",
        "--set",
        "live.hold_ms=600000",
        "--set",
        "trials.timeout_s=3",
        "--out",
        str(out),
        timeout=600,
    )
    assert p.returncode == 1, p.stderr
    assert "timed out" in json.loads(out.read_text())["benchmarks"][0]["trials"][0]["error"]
    assert managed_containers(engine) == []


def test_ctrl_c_keeps_finished_trials_and_removes_containers(tmp_path, engine, bases):
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        harness_cmd(
            "run",
            "--suite",
            "quick",
            "--backend",
            "docker",
            "--runtimes",
            "go",
            "--scenarios",
            "spawn,live",
            "--trials",
            "2",
            "--set",
            "trials.warmup=0",
            *SMALL,
            "--set",
            "live.hold_ms=600000",
            "--out",
            str(out),
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # both spawn trials done and the live container holding its plateau
        doc = json.loads(out.read_text()) if out.exists() else {"benchmarks": []}
        done = sum(len(b["trials"]) for b in doc["benchmarks"])
        if done >= 2 and managed_containers(engine):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err.strip().splitlines()[-1]
    doc = json.loads(out.read_text())
    assert doc["status"] == "interrupted" and len(doc["benchmarks"][0]["trials"]) == 2
    assert managed_containers(engine) == []


def test_containers_of_a_dead_harness_are_removed_by_the_next(engine, bases):
    dead = subprocess.Popen(["true"])
    dead.wait()
    tag = next(b["tag"] for b in bases if "/runtime-base:" in b["tag"] and b["arch"] == engine.arch)
    labels = {
        **containers.run_labels(),
        f"{containers.LABEL}.run": "someone-else",
        f"{containers.LABEL}.harness-pid": str(dead.pid),
        f"{containers.LABEL}.harness-host": socket.gethostname(),
    }
    c = engine.client.containers.create(tag, ["/bin/true"], labels=labels)
    try:
        DockerBackend(engine, engine.arch)
        assert c.id not in [x.id for x in managed_containers(engine)]
    finally:
        try:
            c.remove(force=True)
        except Exception:
            pass


def test_backend_auto_says_which_it_picked(tmp_path, bases):
    args = [
        "run",
        "--suite",
        "quick",
        "--runtimes",
        "go",
        "--scenarios",
        "spawn",
        "--trials",
        "1",
        "--set",
        "trials.warmup=0",
        "--set",
        "spawn.tasks=1000",
    ]
    p = run_harness(*args, "--out", str(tmp_path / "a.json"))
    assert p.returncode == 0 and "backend auto: picked docker" in p.stderr, p.stderr
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"}
    p = run_harness(*args, "--out", str(tmp_path / "b.json"), env=no_engine)
    assert p.returncode == 0 and "backend auto: picked native" in p.stderr, p.stderr
    assert json.loads((tmp_path / "b.json").read_text())["backend"] == "native"
    one_line_error(run_harness(*args, "--backend", "docker", env=no_engine), 2, "no Docker engine answers")
    one_line_error(run_harness(*args, "--arch", "arm64", env=no_engine), 2, "needs the docker backend")


def test_remote_engine_over_tcp_is_recorded_and_sampled_on_the_engine(tmp_path, engine, bases):
    remote = {"DOCKER_HOST": REMOTE}
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "docker",
        "--runtimes",
        "go",
        "--scenarios",
        "spawn,live",
        "--trials",
        "1",
        "--set",
        "live.warmup_trials=0",
        "--set",
        "live.hold_ms=1500",
        *SMALL,
        "--out",
        str(out),
        env=remote,
        timeout=600,
    )
    assert p.returncode == 0, f"(is dockerd listening on {REMOTE}? .ci/run starts it so) {p.stderr}"
    doc = json.loads(out.read_text())
    assert doc["placement"]["docker_host"] == REMOTE and doc["placement"]["local"] is False
    assert "sampler container" in doc["placement"]["sampling"] and doc["placement"]["engine_hostname"]
    for b in doc["benchmarks"]:
        t = b["trials"][0]
        assert t["ok"], t["error"]
        assert "sampler container" in t["cpu"]["source"] and t["metrics"]["process_cpu_s"] > 0
    assert managed_containers(engine) == []


def test_arm64_smoke_under_emulation_and_the_gate_refuses_it(tmp_path, engine, bases):
    assert docker_engine.emulation_available("arm64"), "qemu-user-static with binfmt (F flag) is needed: see README"
    emu, nat = tmp_path / "arm64.json", tmp_path / "native.json"
    common = ["--runtimes", "go", "--scenarios", "spawn", "--trials", "3", "--set", "spawn.tasks=10000"]
    p = run_harness("run", "--suite", "quick", "--arch", "arm64", *common, "--out", str(emu), timeout=900)
    assert p.returncode == 0, p.stderr
    assert "EMULATED" in p.stdout + p.stderr and "under qemu emulation" in p.stderr
    doc = json.loads(emu.read_text())
    assert doc["arch"] == "arm64" and doc["emulated"] is True and doc["backend"] == "docker"
    trial = doc["benchmarks"][0]["trials"][-1]
    assert trial["ok"], trial["error"]  # ok includes the checksum check
    assert trial["workload"]["settings"]["GOARCH"] == "arm64"
    assert doc["benchmarks"][0]["build"]["arch"] == "arm64"
    p = run_harness("run", "--suite", "quick", "--backend", "docker", *common, "--out", str(nat), timeout=900)
    assert p.returncode == 0, p.stderr
    gate = run_harness("gate", "--baseline", str(nat), "--candidate", str(emu))
    one_line_error(gate, 2, "emulation")
    report = run_harness("report", str(emu), "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0 and "EMULATED" in (tmp_path / "r.html").read_text()


def test_docker_backend_refuses_what_it_cannot_do(tmp_path, engine, monkeypatch):
    f = tmp_path / "ext.toml"
    f.write_text('name = "ext"\nruntimes = ["ext"]\nscenarios = ["spawn"]\n[runtime.ext]\ncommand = ["true"]\n')
    one_line_error(run_harness("run", "--suite", str(f), "--backend", "docker"), 2, "has no Dockerfile")
    monkeypatch.setattr(docker_engine, "engine_nofile_limit", lambda e: 20_000)
    from harness import config

    suite = config.load_suite("quick", ["docker.nofile=50000"])
    with pytest.raises(HarnessError, match="dockerd's own hard limit is 20000"):
        DockerBackend(engine, engine.arch).limits(suite)
    assert LOADGEN.image.engine_arch_only
