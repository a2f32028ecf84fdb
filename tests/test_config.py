import pytest

from harness import config
from harness.errors import HarnessError
from harness.subjects import SCENARIOS


def test_builtin_suites_load_with_issue_sizes():
    d = config.load_suite("default")
    assert d["spawn"]["tasks"] == 1_000_000 and d["live"]["tasks"] == 1_000_000
    assert d["http"]["stages"][-1] == 10_000
    assert config.rounds_of(d, "spawn") == (0, 5) and config.rounds_of(d, "live") == (1, 3)
    q = config.load_suite("quick")
    assert q["spawn"]["tasks"] < d["spawn"]["tasks"]
    assert set(config.builtin_suites()) >= {"default", "quick"}


@pytest.mark.parametrize(
    "override, names",
    [
        ("spawn.tasks=-1", "spawn.tasks"),
        ('spawn.tasks="many"', "spawn.tasks"),
        ("spawn.tasks=1000000000", "spawn.tasks"),
        ("spawn.bogus=1", "spawn.bogus"),
        ("trials.count=0", "trials.count"),
        ("noise.repeat_noisy=1", "noise.repeat_noisy"),
        ("http.stages=[10, 5]", "http.stages"),
        ('scenarios=["spawn", "dance"]', "scenarios"),
        ('runtimes=["go", "kotlin"]', "kotlin"),
        ('runtime.java.gc="Magic"', "runtime.java.gc"),
        ('runtime.go.colour="red"', "runtime.go.colour"),
        ("wat=1", "wat"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(override, names):
    with pytest.raises(HarnessError) as e:
        config.load_suite("quick", [override])
    assert names in str(e.value)


def test_user_file_and_overrides(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        'name = "mine"\nruntimes = ["go"]\nscenarios = ["spawn"]\n[spawn]\ntasks = 10\n'
        '[runtime.go]\nenv = { GOGC = "50" }\n'
    )
    s = config.load_suite(str(f), ["spawn.work=3"])
    assert s.name == "mine" and (s["spawn"]["tasks"], s["spawn"]["work"]) == (10, 3)
    assert s["spawn"]["iterations"] >= 1 and s["spawn"]["trials"] is None  # defaults fill the section too
    assert s.runtime_settings["go"]["env"] == {"GOGC": "50"}
    assert s["trials"]["count"] == 5  # defaults fill the rest


def test_invalid_toml_and_missing_file(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("name = \n")
    with pytest.raises(HarnessError, match="not valid TOML"):
        config.load_suite(str(f))
    with pytest.raises(HarnessError, match="does not exist"):
        config.load_suite(str(tmp_path / "nope.toml"))
    with pytest.raises(HarnessError, match="unknown suite"):
        config.load_suite("nosuchsuite")


def test_external_runtime_needs_a_command():
    s = config.validate({"runtimes": ["fake"], "runtime": {"fake": {"command": ["python3", "x.py"]}}})
    assert s.runtime_settings["fake"]["command"] == ["python3", "x.py"]
    with pytest.raises(HarnessError, match="unknown runtime 'fake'"):
        config.validate({"runtimes": ["fake"]})


def test_restrict_revalidates():
    s = config.restrict(config.load_suite("quick"), ["go"], ["spawn"], 2)
    assert s.runtimes == ["go"] and s.scenarios == ["spawn"] and s["trials"]["count"] == 2
    with pytest.raises(HarnessError):
        config.restrict(config.load_suite("quick"), None, ["dance"], None)


def test_a_scenario_may_have_its_own_trial_counts_and_trials_outranks_them():
    s = config.load_suite("quick", ["http.trials=2", "http.warmup_trials=0"])
    assert config.rounds_of(s, "http") == (0, 2)
    assert config.rounds_of(s, "spawn") == (s["trials"]["warmup"], s["trials"]["count"])
    assert "trials" not in SCENARIOS["http"].params(s)  # how often is not what the benchmark is
    r = config.restrict(s, None, None, 7)
    assert config.rounds_of(r, "http") == (0, 7) and config.rounds_of(r, "spawn")[1] == 7
    with pytest.raises(HarnessError, match="http.trials"):
        config.load_suite("quick", ["http.trials=0"])


def test_sweeps_are_validated_and_make_points():
    s = config.load_suite("quick", sweeps=["spawn.tasks=1000,10000", "cpus.workload=1,0-1"])
    assert s["sweep"] == {"spawn.tasks": [1000, 10000], "cpus.workload": ["1", "0-1"]}
    pts = config.sweep_points(s)
    assert len(pts) == 4 and {"spawn.tasks": 10000, "cpus.workload": "0-1"} in pts
    at = config.at_point(s, pts[-1])
    assert at["spawn"]["tasks"] == 10000 and at["cpus"]["workload"] == "0-1" and at["sweep"] == {}
    for bad, needle in (
        ("trials.count=1,2", "can be swept"),
        ("spawn.tasks=-1,5", "spawn.tasks"),
        ("spawn.tasks", "section.key=v1"),
        ("spawn.nothing=1", "can be swept"),
        ("spawn.tasks=5,5", "each once"),
    ):
        with pytest.raises(HarnessError, match=needle):
            config.load_suite("quick", sweeps=[bad])


def test_a_scenarios_own_run_settings_and_the_layout_reach_the_trial(tmp_path):
    """[runtime.NAME.per_scenario.SCENARIO] sets run settings for one scenario only; layout turns ASLR off
    (setarch -R) and, per round, pads the environment by a round-dependent multiple of 16 bytes."""
    from harness.backends.base import Prepared
    from harness.backends.native import Built, NativeLauncher
    from harness.kinds.process import layout_pad
    from harness.paths import ROOT
    from harness.subjects import RUNTIMES

    sets = ['runtime.go.per_scenario.spawn.env={GOGC="50"}', 'runtime.go.layout="per-round"']
    suite = config.load_suite("quick", sets)
    settings = suite.runtime_settings["go"]
    p = Prepared(RUNTIMES["go"], None, Built("go", ROOT, "k", True, None), settings, NativeLauncher())
    assert p.run_settings("spawn")["env"] == {"GOGC": "50"} and p.run_settings("live")["env"] == {}
    assert p.argv(["spawn"], 1, "spawn")[:2] == ["setarch", "-R"]
    pads = [layout_pad(r) for r in range(8)]
    assert len(set(pads)) == 8 and all(x % 16 == 0 and x < 4096 for x in pads)
    for bad, said in (
        ('runtime.go.per_scenario.spawn.ldflags="-s"', "a scenario sets only run settings"),
        ('runtime.go.per_scenario.nope.env={A="1"}', "not a scenario"),
        ('runtime.java.layout="random"', "must be one of default, fixed, per-round"),
    ):
        with pytest.raises(HarnessError, match=said):
            config.load_suite("quick", [bad])
