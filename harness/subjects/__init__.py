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
FALLBACK_COLOURS = ("#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")  # the rest of Okabe-Ito

__all__ = ["RUNTIMES", "SCENARIOS", "LOADGEN", "Runtime", "Scenario", "resolve_runtime", "colour"]


def resolve_runtime(name: str, settings: dict) -> Runtime:
    if name in RUNTIMES:
        return RUNTIMES[name]
    if "command" in settings:
        return external(name, settings["command"])
    raise HarnessError(f"unknown runtime '{name}': use {', '.join(RUNTIMES)}")


def colour(runtime: str, index: int = 0) -> str:
    """The runtime's colour in every plot; other names get the rest of the palette."""
    if runtime in RUNTIMES:
        return RUNTIMES[runtime].colour
    if runtime == LOADGEN.name or runtime == "floor":
        return LOADGEN.colour
    return FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)]
