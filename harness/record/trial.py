"""One trial's record, typed: built once by the trial kind that ran it (a workload
process, a build, the instrument's floor), validated against the results
schema when it is written, and read back by the same type (as pyperf's Run
writes and reads its own JSON). Readers take its fields, never a raw dict."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from harness.errors import HarnessError

WHOLE_RUN, SATURATE_WINDOW = "whole run", "saturate (measured windows)"  # what a profile covers (the schema's)


@dataclass
class TrialRecord:
    ok: bool
    error: str | None = None
    round: int = 0
    warmup: bool = False
    excluded: str | None = None  # why it is left out of every statistic (repeated as noisy, profiled)
    noisy: bool = False
    noisy_cause: str | None = None
    started_at: float = 0.0
    wall_s: float = 0.0
    metrics: dict[str, float | None] = field(default_factory=dict)
    rounds: dict[str, list[float]] = field(default_factory=dict)  # values of a metric inside the process
    observations: dict[str, Any] = field(default_factory=dict)  # what the scenario's drive saw
    host_load: dict[str, Any] = field(default_factory=dict)  # steal, others on the workload's CPUs
    workload: dict | None = None  # the program's own result line
    cpu: dict | None = None  # the kernel's account of its CPU time at exit
    profile: dict | None = None  # a profiled trial's folded stacks and files
    incomparable: dict | None = None  # metrics not measured as the suite asked (e.g. overloaded)
    footprint: dict | None = None  # a build trial's bytes of what ships
    harness_cpu_s: float | None = None
    harness_gc_collections: int | None = None
    rss_series: list = field(default_factory=list)
    cgroup_series: list | None = None
    sampler: dict | None = None
    sampled_cpu_s: float | None = None
    sampled_max_threads: int | None = None
    sampled_ctx_switches: int | None = None
    events: list[dict] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # keys of another harness version, kept as they were

    # --- what readers ask of it ---

    @property
    def measured(self) -> bool:
        """The trials every summary, report and gate counts: successful, not warm-up,
        not excluded (a noisy trial that was repeated, a profiled one)."""
        return self.ok and not self.warmup and not self.excluded

    @property
    def steal_pct(self) -> float | None:
        return self.host_load.get("steal_pct")

    @property
    def protocol(self) -> int | None:
        """The workload protocol version its program spoke."""
        return (self.workload or {}).get("protocol")

    def rounds_of(self, key: str) -> list[float]:
        """The metric's values inside this process (its rounds or windows); its one value where it has none."""
        values = self.rounds.get(key)
        if values:
            return [float(v) for v in values]
        v = self.metrics.get(key)
        return [float(v)] if v is not None else []

    def incomparable_reason(self, key: str) -> str | None:
        """Why this trial's `key` was not measured as asked (e.g. "overloaded: ..."), or None."""
        inc = self.incomparable or {}
        return inc.get("reason") if key in inc.get("metrics", []) else None

    # --- the results file's form ---

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out = {k: v for k, v in out.items() if v is not None or k == "error"}
        return {**self.extra, **out}

    @classmethod
    def from_json(cls, d: dict) -> TrialRecord:
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        given = {k: v for k, v in d.items() if k in known and v is not None}
        return cls(**given, extra={k: v for k, v in d.items() if k not in known})

    def check(self, where: str) -> dict:
        """Its JSON, validated against the results schema's trial: a harness bug never reaches a file."""
        import fastjsonschema

        doc = self.to_json()
        try:
            _validator()(json.loads(json.dumps(doc, default=str)))
        except fastjsonschema.JsonSchemaValueException as e:
            raise HarnessError(
                f"internal error: the trial record of {where} breaks the results schema: {e.message}"
            ) from None
        return doc


@cache
def _validator():
    import fastjsonschema

    schema = json.loads(resources.files("harness.record").joinpath("results.schema.json").read_text())
    return fastjsonschema.compile({"$ref": "#/definitions/trial", "definitions": schema["definitions"]})
