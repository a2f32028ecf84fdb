"""What is measured: one descriptor module per runtime (go, rust, java, zig; the
load generator is a tool built the same way) and one module per scenario
(spawn, live, http, startup, build). These registries are the only lists of them."""

from __future__ import annotations

from harness.errors import HarnessError
from harness.subjects.runtimes import go, java, rust, zig
from harness.subjects.runtimes.loadgen import LOADGEN
from harness.subjects.runtimes.runtime import Runtime, external
from harness.subjects.scenarios.build import Build
from harness.subjects.scenarios.http import Http
from harness.subjects.scenarios.live import Live
from harness.subjects.scenarios.scenario import Scenario
from harness.subjects.scenarios.spawn import Spawn
from harness.subjects.scenarios.startup import Startup

RUNTIMES: dict[str, Runtime] = {rt.name: rt for rt in (go.RUNTIME, rust.RUNTIME, java.RUNTIME, zig.RUNTIME)}
SCENARIOS: dict[str, Scenario] = {s.name: s for s in (Spawn(), Live(), Http(), Startup(), Build())}
__all__ = ["RUNTIMES", "SCENARIOS", "LOADGEN", "Runtime", "Scenario", "resolve_runtime", "shown"]


def resolve_runtime(name: str, settings: dict, runtime: str | None = None) -> Runtime:
    """The subject `name` (a runtime, or a variant of `runtime`) with its settings applied by its descriptor."""
    base = runtime or name
    if base in RUNTIMES:
        rt = RUNTIMES[base]
        return rt.configure(rt, name, settings)
    if "command" in settings:
        return external(name, settings["command"])
    raise HarnessError(f"unknown runtime '{name}': use {', '.join(RUNTIMES)}")


def shade(colour: str, k: int) -> str:
    """The k-th shade of a colour (0: itself), alternately darker and lighter, so that a runtime's
    variants read as that runtime and apart from each other."""
    import colorsys

    if k == 0:
        return colour
    r, g, b = (int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    h, light, sat = colorsys.rgb_to_hls(r, g, b)
    step = 0.14 * ((k + 1) // 2)
    light = max(0.12, min(0.85, light - step if k % 2 else light + step))
    r, g, b = colorsys.hls_to_rgb(h, light, sat)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def shown(runtimes: dict[str, tuple[Runtime, dict]], floor: bool) -> dict[str, dict]:
    """What readers show of each subject (the results file's `subjects`): its runtime, colour, label,
    build flags and what its descriptor says identifies its toolchain and which run settings it shows
    (readers and the gate ask the file, never a descriptor); the instrument floor's in the load
    generator's grey."""
    out = {}
    seen: dict[str, int] = {}
    for name, (rt, settings) in runtimes.items():
        k = seen[rt.runtime] = seen.get(rt.runtime, -1) + 1  # its runtime's colour, then shades of it
        out[name] = {
            "runtime": rt.runtime,
            "colour": shade(rt.colour, k),
            "label": name,
            "build_flags": rt.build_flags,
            **rt.identity(settings),
            **({"not_measured": dict(rt.not_measured)} if rt.not_measured else {}),
            **({"labels": dict(rt.labels)} if rt.labels else {}),
            **({"no_profiler": rt.no_profiler} if rt.no_profiler else {}),
        }
    if floor:
        out["floor"] = {"runtime": LOADGEN.name, "colour": LOADGEN.colour, "label": "floor (instrument)"}
    return out
