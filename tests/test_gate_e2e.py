"""The gate end to end on real runs: `harness ab` with a candidate made slower
by the --work knob must fail; an A/A pair must pass; and a small version of
the calibration experiment (scripts/gate_calibration.py) runs."""

import json
import subprocess
import sys

from tests.conftest import ROOT, run_harness

# 200,000 tasks rather than the quick suite's 20,000: a 30 ms trial is mostly
# process start-up noise, and these tests are about the gate's logic.
AB = ["ab", "--base", "HEAD", "--suite", "quick", "--scenarios", "spawn", "--runtimes", "go", "--trials", "6",
      "--set", "spawn.tasks=200000"]


def test_slower_candidate_fails_the_gate(tmp_path, workloads):
    verdict = tmp_path / "v.json"
    # 10x the work per task: a real, large slowdown of spawn
    p = run_harness(*AB, "--candidate-set", "spawn.work=1000", "--out-dir", str(tmp_path), "--verdict", str(verdict))
    assert p.returncode == 1, p.stdout + p.stderr
    v = json.loads(verdict.read_text())
    tps = next(c for c in v["comparisons"] if c["metric"] == "tasks_per_sec")
    assert tps["verdict"] == "regression" and tps["change"] < -0.2
    files = sorted(f.name for f in tmp_path.glob("ab-*.json"))
    assert len(files) == 2 and files[0].endswith("-base.json")
    base = json.loads((tmp_path / files[0]).read_text())
    assert base["git"]["ref"] == "HEAD" and base["status"] == "complete"


def test_a_a_pair_passes_the_gate(tmp_path, workloads):
    # The same build against itself, interleaved. A 20% threshold keeps this
    # test about the gate's logic, not about this shared machine's noise; the
    # false-alarm rate at the default 5% is measured by gate_calibration.py.
    p = run_harness(*AB, "--threshold", "20%", "--out-dir", str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 regression(s)" in p.stdout


def test_unknown_base_ref_is_exit_2():
    p = run_harness("ab", "--base", "no-such-ref-anywhere", "--suite", "quick", "--scenarios", "spawn")
    assert p.returncode == 2 and "not a commit" in p.stderr and "Traceback" not in p.stderr


def test_calibration_script_small(tmp_path, workloads):
    out = tmp_path / "cal.json"
    p = subprocess.run([sys.executable, "scripts/gate_calibration.py", "--tries", "1", "--trials", "4",
                        "--runtimes", "go", "--slowdowns", "25", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(out.read_text())
    assert r["aa"]["false_alarms"] in (0, 1) and r["tries"] == 1
    (power,) = r["power"]
    assert power["work"] > 100 and power["tries"] == 1 and power["measured_change_median_pct"] < 0
