"""Past one load generator, for real: connections spread over source addresses beyond what one address's
ports allow (in a network namespace whose port range is narrowed to 100), and the http load split between
two generators on two Docker engines in namespaces of their own, joined to the server's by veth pairs
(tests/netns_engines.py): merged results, each generator's own kept, and a generator that dies in a stage
failing that stage by name. Needs root, iproute2 and dockerd (.ci/run); never skipped."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.backends.native import build
from harness.subjects import LOADGEN
from tests import netns_engines
from tests.conftest import ROOT, run_harness

PEERS = """
import json, selectors, socket, sys, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4096); srv.setblocking(False)
print(srv.getsockname()[1], flush=True)
sel = selectors.DefaultSelector(); sel.register(srv, selectors.EVENT_READ)
peers, end = {}, time.time() + float(sys.argv[1])
answer = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: text/plain\\r\\n\\r\\nok"
while time.time() < end:
    for key, _ in sel.select(0.05):
        if key.fileobj is srv:
            try:
                c, (addr, _) = srv.accept()
            except BlockingIOError:
                continue
            peers[addr] = peers.get(addr, 0) + 1
            c.setblocking(False); sel.register(c, selectors.EVENT_READ)
        else:
            try:
                data = key.fileobj.recv(4096)
            except (BlockingIOError, ConnectionError):
                continue
            if data:
                key.fileobj.sendall(answer)
            else:
                sel.unregister(key.fileobj); key.fileobj.close()
print(json.dumps(peers), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def loadgen_binary() -> Path:
    built = build(LOADGEN, LOADGEN.toolchain())
    return built.artifact_dir / "loadgen"


def ramp_in_namespace(loadgen: Path, tmp_path: Path, sources: list[str]) -> tuple[dict, dict]:
    """A ramp to 250 connections in a fresh network namespace with 100 local ports, against a server that
    counts its peers' addresses; the ramp's result and the peers."""
    script = tmp_path / "peers.py"
    script.write_text(PEERS)
    shell = (
        "ip link set lo up && sysctl -q -w net.ipv4.ip_local_port_range='40000 40099' && "
        f"{{ python3 {script} 5 > {tmp_path}/port 2> {tmp_path}/peers & }} && sleep 0.5 && "
        f"{loadgen} ramp --port $(cat {tmp_path}/port) --stages 100,250 --rate 500 --stage-duration-s 1 "
        + (f"--sources {','.join(sources)}" if sources else "")
        + f" > {tmp_path}/ramp; wait"  # the server's count of its peers, once it ends
    )
    p = subprocess.run(["unshare", "-n", "sh", "-c", shell], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    result = json.loads((tmp_path / "ramp").read_text().splitlines()[-1])
    return result, json.loads((tmp_path / "peers").read_text())


def test_connections_spread_over_source_addresses_pass_one_addresss_ports(loadgen_binary, tmp_path):
    result, peers = ramp_in_namespace(loadgen_binary, tmp_path, ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
    last = result["stages"][-1]
    assert (last["connections_open"], last["connect_failures"], last["sources"]) == (250, 0, 3)
    assert sorted(peers) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert max(peers.values()) - min(peers.values()) <= 2  # in turn: an even share each
    # every connection alive at the plateau: each answered its two sends of the stage (0.5 s period, 1 s stage)
    assert last["requests_failed"] == 0 and last["requests_ok"] == last["requests_sent"] == 500
    # the same ramp from one address runs out of its 100 ports
    (tmp_path / "one").mkdir()
    result, peers = ramp_in_namespace(loadgen_binary, tmp_path / "one", [])
    assert result["stages"][-1]["connections_open"] <= 100 and result["stages"][-1]["connect_failures"] >= 150


@pytest.fixture(scope="module")
def generator_engines(tmp_path_factory):
    with netns_engines.engines(tmp_path_factory.mktemp("netns-engines"), 2) as urls:
        yield urls


def two_engine_run(out: Path, urls: list[str], *sets: str) -> subprocess.CompletedProcess:
    return run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "docker",
        "--runtimes",
        "go",
        "--scenarios",
        "http",
        "--trials",
        "1",
        "--set",
        "trials.warmup=0",
        "--set",
        f'http.server_address="{netns_engines.SERVER_ADDRESS}"',
        "--set",
        "http.stages=[100, 200]",
        "--loadgen-engines",
        ",".join(urls),
        *[x for s in sets for x in ("--set", s)],
        "--out",
        str(out),
        timeout=900,
    )


@pytest.mark.docker
def test_two_generators_on_two_engines_load_one_server_across_veth(tmp_path, generator_engines):
    out = tmp_path / "r.json"
    p = two_engine_run(out, generator_engines)
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.loads(out.read_text())
    for b in [*doc["benchmarks"], doc["floors"]["http"]]:
        t = b["trials"][-1]
        assert t["ok"], (b["id"], t["error"])
        obs = t["observations"]
        assert [g["generator"] for g in obs["generators"]] == generator_engines
        for stage, want in zip(obs["stages"], [100, 200] if b["runtime"] != "floor" else [200], strict=True):
            assert stage["connections_open"] == want and stage["closed_by_server"] == 0
            shares = stage["generators"]
            assert [g["connections_open"] for g in shares] == [want // 2, want // 2]
            assert all(g["clock_rtt_ns"] > 0 and g["achieved_rate"] > 0 for g in shares)
            # counters added and the histograms merged: the merged count is every answer of both
            assert stage["corrected"]["count"] == stage["requests_ok"] == sum(g["requests_ok"] for g in shares)
        saturate = obs.get("saturate")
        if saturate:
            assert len(saturate["generators"]) == 2 and saturate["requests_per_sec"] > 0
    assert doc["benchmarks"][0]["trials"][-1]["metrics"]["latency_p99_ns"] > 0
    for url in generator_engines:  # nothing of the run is left on the generators' engines
        left = subprocess.run(["docker", "-H", url, "ps", "-aq"], capture_output=True, text=True).stdout.split()
        assert left == []


@pytest.mark.docker
def test_a_generator_that_dies_in_a_stage_fails_that_stage_by_name(tmp_path, generator_engines):
    victim = generator_engines[1]
    stop = threading.Event()

    def kill_its_first_ramp() -> None:
        while not stop.is_set():
            ps = subprocess.run(
                ["docker", "-H", victim, "ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
                capture_output=True,
                text=True,
            ).stdout
            ramps = [line.split()[0] for line in ps.splitlines() if " ramp " in f" {line} ".replace('"', " ")]
            if ramps:
                time.sleep(1.5)  # inside the first stage (3 s)
                subprocess.run(["docker", "-H", victim, "kill", ramps[0]], capture_output=True)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_its_first_ramp, daemon=True)
    killer.start()
    out = tmp_path / "r.json"
    try:
        p = two_engine_run(out, generator_engines, "http.stage_duration_s=3")
    finally:
        stop.set()
    assert p.returncode != 0
    doc = json.loads(out.read_text())
    errors = [t["error"] for b in [*doc["benchmarks"], doc["floors"]["http"]] for t in b["trials"] if not t["ok"]]
    assert len(errors) == 1, errors
    assert "stage 1/" in errors[0] and victim in errors[0], errors[0]


@pytest.mark.docker
def test_two_generators_script(generator_engines):
    """scripts/two_generators.py once, tiny: one pair of runs."""
    p = subprocess.run(
        [sys.executable, "scripts/two_generators.py", "--engines", ",".join(generator_engines)]
        + ["--server-address", netns_engines.SERVER_ADDRESS, "--pairs", "1", "--stages", "100,200"]
        + ["--rate", "1000", "--stage-s", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "go     two generators  p99" in p.stdout and "rate held to" in p.stdout and "clock offset" in p.stdout
