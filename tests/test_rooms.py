"""The layout's promises, checked: readers read only the results file (importing
them loads nothing of the run side), version 2 files migrate to one floor per
scenario, every runtime declares what the docker backend and the readers need
of it, and every scenario what its readers show."""

import json
import subprocess
import sys

from harness.record import model
from harness.subjects import LOADGEN, RUNTIMES, SCENARIOS
from tests.conftest import ROOT
from tests.fixtures import make_doc

READERS = [
    "harness.output.summary",
    "harness.output.report",
    "harness.output.site",
    "harness.output.exports",
    "harness.output.plots",
    "harness.gate",
    "harness.gate.sequential",
    "harness.record.model",
]


def test_readers_load_nothing_of_the_run_side():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in READERS)
        + "bad = sorted(m for m in sys.modules if m == 'psutil' or m.split('.')[:2] in "
        "(['harness', 'measure'], ['harness', 'session'], ['harness', 'backends']))\nprint(bad)"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]", p.stdout


def test_version_2_files_migrate_to_one_floor_per_scenario_and_record_colours(tmp_path):
    v2 = make_doc(floor=True)
    v2["schema_version"] = 2
    v2["floor"] = v2.pop("floors")["http"]
    v2.pop("subjects")
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(v2))
    results = model.load(path)
    assert set(results.floors) == {"http"} and results.floor_of("http").id == "http/floor"
    assert results.floor_of("spawn") is None
    assert results.colour("go") == RUNTIMES["go"].colour and results.colour("floor") == LOADGEN.colour
    assert json.loads(path.read_text())["schema_version"] == 2  # reading never rewrites a migrated file


def test_every_runtime_declares_its_images_profile_reader_and_defaults():
    for rt in RUNTIMES.values():
        assert rt.image is not None and rt.image.bases, rt.name
        assert {spec.role for spec in rt.image.bases.values()} == {"toolchain", "runtime"}, rt.name
        assert callable(rt.profile_reader) and isinstance(rt.default_settings(), dict)
    java = RUNTIMES["java"].default_settings()  # the one place Java's defaults are written
    assert (java["gc"], java["jvm_flags"], java["jdk"], java["release"]) == ("G1", [], "", 21)  # the one place
    assert RUNTIMES["java"].image.toolchain_paths == {"java": "java"}


def test_scenarios_declare_their_needs_and_floors():
    http = SCENARIOS["http"]
    assert http.has_floor and not SCENARIOS["spawn"].has_floor
    assert http.open_files({"stages": [10, 10_000]}) == 11_024 and SCENARIOS["spawn"].open_files({}) == 0
