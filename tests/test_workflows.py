"""The CI workflows: both architectures in one matrix, no code from a fork on a
self-hosted runner without a maintainer's label, and the two workflow checkers
(actionlint, zizmor) that make lint runs really do fail a bad workflow."""

import shutil
import subprocess

import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
VENV_BIN = ROOT / ".venv" / "bin"


def load(name):
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_both_architectures_run_from_one_matrix_called_by_release_and_gate():
    matrix = load("bench-matrix.yml")["jobs"]["bench"]["strategy"]["matrix"]["include"]
    assert {m["arch"] for m in matrix} == {"amd64", "arm64"}
    for name in ("release.yml", "pr-gate.yml"):
        jobs = load(name)["jobs"]
        assert any(j.get("uses") == "./.github/workflows/bench-matrix.yml" for j in jobs.values()), name
    publish = load("release.yml")["jobs"]["publish"]
    assert publish["needs"] == "bench" and "results-*" in str(publish["steps"])


def test_fork_code_never_runs_on_self_hosted_runners_without_a_label():
    wf = load("pr-gate.yml")
    assert "pull_request_target" not in str(wf[True] if True in wf else wf.get("on"))  # yaml reads "on" as True
    guard = wf["jobs"]["ab"]["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in guard
    assert "github.event.label.name == 'safe-to-bench'" in guard and "github.event.action == 'labeled'" in guard


def _lint(tmp_path, text):
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text(text)
    shutil.copy(ROOT / ".github" / "zizmor.yml", tmp_path / ".github" / "zizmor.yml")
    actionlint = subprocess.run(
        [str(VENV_BIN / "actionlint"), str(wf / "bad.yml")], cwd=tmp_path, capture_output=True, text=True
    )
    zizmor = subprocess.run(
        [str(VENV_BIN / "zizmor"), "--offline", "--quiet", str(wf)], cwd=tmp_path, capture_output=True, text=True
    )
    return actionlint, zizmor


def test_the_checkers_pass_ours_and_fail_a_bad_workflow(tmp_path):
    for wf in WORKFLOWS.glob("*.yml"):
        assert subprocess.run([str(VENV_BIN / "actionlint"), str(wf)], capture_output=True).returncode == 0, wf
    assert (
        subprocess.run(
            [str(VENV_BIN / "zizmor"), "--offline", "--quiet", str(WORKFLOWS)], cwd=ROOT, capture_output=True
        ).returncode
        == 0
    )
    injected = (
        "name: bad\non: pull_request\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    _, zizmor = _lint(tmp_path / "a", injected)
    assert zizmor.returncode != 0 and "template-injection" in zizmor.stdout + zizmor.stderr
    broken = (
        "name: bad\non: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ nope.x }}\n"
    )
    actionlint, _ = _lint(tmp_path / "b", broken)
    assert actionlint.returncode != 0 and "nope" in actionlint.stdout


def test_the_pull_request_gate_gates_every_scenario_and_comments_only_from_this_repository():
    steps = load("bench-matrix.yml")["jobs"]["bench"]["steps"]
    gate = next(s for s in steps if "make ab" in s.get("run", ""))
    assert "SUITE=gate" in gate["run"] and "--scenarios" not in gate["run"]  # the gate suite's own scenarios
    from harness.config import load_suite

    assert load_suite("gate").scenarios == ["spawn", "live", "http", "startup"]
    comment = next(s for s in steps if "comment" in s.get("name", ""))
    assert "inputs.may_comment" in comment["if"] and "PATCH" in comment["run"]  # one comment, updated in place
    ab = load("pr-gate.yml")["jobs"]["ab"]
    assert ab["with"]["may_comment"] == "${{ github.event.pull_request.head.repo.full_name == github.repository }}"


def test_make_bench_runs_the_suites_own_subjects_unless_told():
    """The default suite's size variants (go@size, rust@size, java@jlink) are subjects of `make bench`:
    the Makefile names runtimes only when RUNTIMES is given."""
    dry = subprocess.run(["make", "-n", "bench"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    (line,) = [x for x in dry.splitlines() if " run --suite " in x]
    assert "--runtimes" not in line, line
    dry = subprocess.run(["make", "-n", "bench", "RUNTIMES=go,rust"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "--runtimes go,rust" in dry


def test_a_comparison_of_two_commits_runs_the_gate_suite_unless_one_is_named():
    """`make ab` and `harness ab` are the pull request's gate: the gate suite, not the headline one."""
    from harness import cli

    def dry(*extra: str) -> str:
        return subprocess.run(["make", "-n", "ab", "BASE=x", *extra], cwd=ROOT, capture_output=True, text=True).stdout

    assert "--suite" not in dry() and "--suite quick " in dry("SUITE=quick")  # harness ab's own default below
    parser = cli.build_parser()
    assert cli._suite(parser.parse_args(["ab", "--base", "x"])).name == "gate"
    assert cli._suite(parser.parse_args(["run"])).name == "default"
    assert cli._suite(parser.parse_args(["ab", "--base", "x", "--suite", "quick"])).name == "quick"
