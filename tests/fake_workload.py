"""A stand-in workload for fault tests: speaks PROTOCOL.md's spawn subcommand
and misbehaves as FAKE_MODE says (ok, slow, crash, hang, block, garbage, badsum)."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from harness.subjects.checksum import expected_checksum  # noqa: E402


def main() -> int:
    args = sys.argv[1:]
    opts = dict(zip(args[1::2], args[2::2]))
    tasks, work, workers = int(opts["--tasks"]), int(opts["--work"]), int(opts["--workers"])
    mode = os.environ.get("FAKE_MODE", "ok")
    marker = os.environ.get("FAKE_MARKER", "fake-marker")
    if mode == "crash":
        print("fake: simulated crash", file=sys.stderr)
        return 1
    if mode == "hang":
        # a grandchild too, so the test sees the whole tree die
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", marker])
        time.sleep(1000)
    if mode == "block":  # hangs without children of its own and without output: only a signal ends it
        with open(os.environ["FAKE_READY_FILE"], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(1000)
    if mode == "garbage":
        print("this is not json", flush=True)
        return 0
    if mode == "slow":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", marker])
        time.sleep(0.4)
    checksum = expected_checksum(tasks, work) if mode != "badsum" else "0" * 16
    rounds = int(opts.get("--warmup-iterations", 0)) + int(opts.get("--iterations", 1))
    one = {"tasks": tasks, "work": work, "checksum": checksum, "total_ns": 1000, "spawn_ns": 500,
           "tasks_per_sec": tasks / 1e-6, "latency_ns": {"mean": 1.0, "p50": 1, "p99": 2, "max": 3}, "cpu_ns": 900}
    iterations = [{**one, "index": i, "warmup": i < int(opts.get("--warmup-iterations", 0))} for i in range(rounds)]
    for it in iterations:  # each round reported as it ends, as the protocol says
        print(json.dumps({"type": "iteration", **it}), flush=True)
    print(json.dumps({
        "type": "result", "protocol": 2, "runtime": "fake", "scenario": "spawn", "workers": workers, **one,
        "iterations": iterations, "cpu_user_ns": 800, "cpu_system_ns": 100, "forced_gc": "",
        "peak_rss_bytes": 1 << 20, "settings": {"runtime_version": "fake 1"},
    }), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
