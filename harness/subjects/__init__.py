"""What is measured: one descriptor module per runtime (go, rust, java; the
load generator is a tool built the same way) and one module per scenario
(spawn, live, http). These registries are the only lists of them."""

from __future__ import annotations

from harness.errors import HarnessError
from harness.subjects import go, java, rust
from harness.subjects.http import Http
from harness.subjects.live import Live
from harness.subjects.loadgen import LOADGEN
from harness.subjects.runtime import Runtime, external
from harness.subjects.scenario import Scenario
from harness.subjects.spawn import Spawn
from harness.subjects.startup import Startup

RUNTIMES: dict[str, Runtime] = {rt.name: rt for rt in (go.RUNTIME, rust.RUNTIME, java.RUNTIME)}
SCENARIOS: dict[str, Scenario] = {s.name: s for s in (Spawn(), Live(), Http(), Startup())}
__all__ = ["RUNTIMES", "SCENARIOS", "LOADGEN", "Runtime", "Scenario", "resolve_runtime", "shown"]


def resolve_runtime(name: str, settings: dict) -> Runtime:
    if name in RUNTIMES:
        return RUNTIMES[name]
    if "command" in settings:
        return external(name, settings["command"])
    raise HarnessError(f"unknown runtime '{name}': use {', '.join(RUNTIMES)}")


def shown(runtimes: dict[str, Runtime], floor: bool) -> dict[str, dict]:
    """What readers show of each subject (the results file's `subjects`): its runtime,
    colour and label, and the instrument floor's in the load generator's grey."""
    out = {name: {"runtime": rt.name, "colour": rt.colour, "label": name} for name, rt in runtimes.items()}
    if floor:
        out["floor"] = {"runtime": LOADGEN.name, "colour": LOADGEN.colour, "label": "floor (instrument)"}
    return out
