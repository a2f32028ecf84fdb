"""Reading a results file. Every reader (summary, report, gate, export, publish)
goes through load(): it migrates an older schema version, refuses a malformed
file with one line naming the file, the JSON path and what was expected
(validated against results.schema.json; NaN and Infinity are refused
anywhere), marks a 'running' file whose harness is gone as 'crashed', and
returns a typed Results, not a dict."""

from __future__ import annotations

import json
import math
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema

from harness.errors import HarnessError
from harness.record.trial import TrialRecord
from harness.record.writer import SCHEMA_NAME, SCHEMA_VERSION, atomic_write

FALLBACK_COLOURS = ("#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")  # the rest of Okabe-Ito
SCHEMA = json.loads(resources.files("harness.record").joinpath("results.schema.json").read_text())
# fastjsonschema compiles the schema to Python: a 1,000-trial file validates in
# tens of milliseconds, where jsonschema's interpreter takes seconds.
_VALIDATE = fastjsonschema.compile(SCHEMA)


@dataclass(frozen=True)
class MetricMeta:
    label: str
    unit: str
    better: str  # "higher" or "lower"
    headline: bool = True
    shown: bool = True  # in the report's comparison table (every headline metric, and a few beside them)
    steal_free: bool = False  # a cost steal does not move (CPU time, bytes): every pair is fair for it

    @property
    def arrow(self) -> str:
        return "↑" if self.better == "higher" else "↓"


Trial = TrialRecord  # what readers call one trial's record


@dataclass
class Benchmark:
    raw: dict
    id: str
    scenario: str
    runtime: str
    params: dict
    metrics: dict[str, MetricMeta]
    trials: list[Trial]
    settings: dict

    @property
    def measured(self) -> list[Trial]:
        return [t for t in self.trials if t.measured]

    @property
    def point(self) -> dict[str, Any]:
        """The swept values of this benchmark ({} when it is not part of a sweep)."""
        return self.raw.get("point") or {}

    @property
    def workers(self) -> int | None:
        return self.raw.get("workers")

    def incomparable(self, key: str) -> list[str]:
        """The reasons measured trials give for `key` not being comparable (empty: it is)."""
        return [r for t in self.measured if (r := t.incomparable_reason(key))]

    def values(self, key: str) -> list[float]:
        """The metric over the measured trials that have it."""
        return [v for t in self.measured if (v := t.metrics.get(key)) is not None]

    @property
    def forced_gc(self) -> str:
        """What the measured trials' workloads say they forced ("no" where nothing was asked)."""
        said = {(t.workload or {}).get("forced_gc", "") for t in self.measured}
        return ", ".join(sorted(x or "no" for x in said)) or "-"

    @property
    def build(self) -> dict:
        """What its build recorded (cache key, toolchain, flags, footprint)."""
        return self.raw.get("build") or {}

    @property
    def build_flags(self) -> dict:
        """What its build set beyond the defaults."""
        return self.build.get("flags") or {}

    @property
    def footprint(self) -> dict | None:
        """Bytes of what ships, as the build recorded them."""
        return self.build.get("footprint")

    @property
    def profiled(self) -> Trial | None:
        """The trial run with the CPU profiler on (harness run --profile), never a measured one."""
        return next((t for t in self.trials if t.profile), None)

    def profiler_overhead(self) -> dict[str, float]:
        """Per headline metric: the profiled trial's value over the measured trials'
        median (1.10 on tasks/s: the profiled run went 10% faster; on CPU per task, 10% dearer)."""
        t = self.profiled
        if t is None or not t.ok:
            return {}
        out = {}
        for key, meta in self.metrics.items():
            median = self.summary.get(key, {}).get("median")
            value = t.metrics.get(key)
            if meta.headline and value is not None and median:
                out[key] = value / median
        return out

    @cached_property
    def summary(self) -> dict[str, dict]:
        """Per metric: median, confidence interval of the median, spread (recomputed, never trusted from the file)."""
        from harness.record.stats import summarise

        keys = list(self.metrics) + [k for t in self.measured for k in t.metrics if k not in self.metrics]
        return {k: summarise(self.values(k)) for k in dict.fromkeys(keys)}


@dataclass
class Results:
    path: Path | None
    raw: dict
    status: str
    arch: str
    emulated: bool
    backend: str
    benchmarks: list[Benchmark]
    warnings: list[str] = field(default_factory=list)
    floors: dict[str, Benchmark] = field(default_factory=dict)  # per scenario: its instrument, measured alone

    def floor_of(self, scenario: str) -> Benchmark | None:
        """The scenario's instrument floor (e.g. the load generator against its reference responder), if any."""
        return self.floors.get(scenario)

    @property
    def subjects(self) -> dict[str, dict]:
        """What readers show of each subject (runtime or variant, and the floor): runtime, colour, label."""
        return self.raw.get("subjects") or {}

    def label_of(self, subject: str, scenario: str) -> str:
        """What the subject measures differently in `scenario` ("pool, not a task per unit"), or ""; a
        labelled subject is ranked apart (never starred against the others)."""
        return ((self.subjects.get(subject) or {}).get("labels") or {}).get(scenario, "")

    def not_measured(self, scenario: str) -> dict[str, str]:
        """The subjects of this run that cannot measure `scenario` honestly, and why (one line each)."""
        return {
            name: why
            for name, shown in self.subjects.items()
            if (why := (shown.get("not_measured") or {}).get(scenario))
        }

    def no_profiler(self, subject: str) -> str:
        """Why the subject has no profiled trial (its runtime has no profiler of its own), or ""."""
        return (self.subjects.get(subject) or {}).get("no_profiler", "")

    def colour(self, name: str, index: int = 0) -> str:
        """The subject's colour as the writer recorded it; other names get the rest of the palette."""
        return (self.subjects.get(name) or {}).get("colour") or FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)]

    @property
    def footprints(self) -> dict[str, dict]:
        """Per runtime, its build's footprint (the same for every benchmark of the runtime)."""
        out: dict[str, dict] = {}
        for b in self.benchmarks:
            if b.footprint and b.runtime not in out:
                out[b.runtime] = b.footprint
        return out

    @property
    def host(self) -> dict:
        return self.raw.get("host") or {}

    @property
    def git(self) -> dict:
        return self.raw.get("git") or {}

    @property
    def suite(self) -> dict:
        return self.raw.get("suite") or {}

    @property
    def cpu_plan(self) -> dict:
        return self.raw.get("cpu_plan") or {}

    @property
    def workers(self) -> int | None:
        return self.cpu_plan.get("workers")

    def by_scenario(self) -> dict[str, list[Benchmark]]:
        out: dict[str, list[Benchmark]] = {}
        for b in self.benchmarks:
            out.setdefault(b.scenario, []).append(b)
        return out

    def toolchain_of(self, subject: str) -> str:
        """What built and runs a subject, in plain text (its toolchain's own words, ANSI codes and all stripped)."""
        tc = (self.raw.get("toolchains") or {}).get(subject) or {}
        text = tc.get("version") or next(
            (b.build.get("toolchain_version", "") for b in self.benchmarks if b.runtime == subject),
            "",
        )
        return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text or "")

    def setup_of(self, subject: str) -> str:
        """A subject's toolchain, build flags and the run settings its descriptor shows, in one line."""
        shown = self.subjects.get(subject) or {}
        flags = shown.get("build_flags") or {}
        run = _settings_text(shown.get("run_settings") or {})
        built = [f"{k}={v}" for k, v in flags.items() if k != "toolchain"]
        return "; ".join(x for x in (self.toolchain_of(subject), ", ".join(built), ", ".join(run)) if x)

    def toolchain_keys(self, subject: str) -> list[str]:
        """The subject's settings that choose what builds or runs it (its descriptor's, as recorded)."""
        return list((self.subjects.get(subject) or {}).get("toolchain_keys") or [])

    def benchmark(self, bench_id: str) -> Benchmark | None:
        return next((b for b in self.benchmarks if b.id == bench_id), None)


def from_doc(doc: dict, path: Path | None = None) -> Results:
    """The typed view of a validated document (the writer's own, or a loaded file's)."""
    benches = [_benchmark(b) for b in doc["benchmarks"]]
    floors = {scenario: _benchmark(b) for scenario, b in (doc.get("floors") or {}).items()}
    return Results(
        path,
        doc,
        doc["status"],
        doc["arch"],
        doc["emulated"],
        doc["backend"],
        benches,
        list(doc.get("warnings") or []),
        floors,
    )


def _benchmark(b: dict) -> Benchmark:
    metrics = {
        k: MetricMeta(
            m["label"],
            m["unit"],
            m["better"],
            m.get("headline", True),
            m.get("shown", m.get("headline", True)),
            m.get("steal_free", False),
        )
        for k, m in b["metrics"].items()
    }
    trials = [TrialRecord.from_json(t) for t in b["trials"]]
    return Benchmark(b, b["id"], b["scenario"], b["runtime"], b["params"], metrics, trials, b.get("settings") or {})


def load(path: str | Path, mark_crashed: bool = True) -> Results:
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise HarnessError(f"results file {p} does not exist") from None
    except IsADirectoryError:
        raise HarnessError(f"results file {p} is a directory: name a .json file") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HarnessError(f"results file {p} is not readable JSON: {e}") from None
    doc = validate(doc, str(p))
    if mark_crashed and doc["status"] == "running" and harness_gone(doc):
        doc["status"] = "crashed"
        doc.setdefault("warnings", []).append(
            "the harness that wrote this file stopped without finishing it (killed?): marked crashed"
        )
        _rewrite(p, doc)
    return from_doc(doc, p)


def validate(doc: Any, where: str) -> dict:
    """Migrate an older version, then refuse anything the readers cannot trust."""
    from harness.record.migrate import migrate

    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_NAME:
        raise HarnessError(f'{where} is not a harness results file (no "schema": "{SCHEMA_NAME}")')
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise HarnessError(
            f"results file {where} is malformed at $.schema_version: expected an integer >= 1, got {version!r}"
        )
    if version > SCHEMA_VERSION:
        raise HarnessError(
            f"{where} has results schema version {version}, newer than this harness reads "
            f"({SCHEMA_VERSION}): upgrade the harness"
        )
    doc = migrate(doc)
    bad = first_non_finite(doc)
    if bad:
        raise HarnessError(
            f"results file {where} is malformed at {bad}: expected a finite number or null, got NaN or Infinity"
        )
    try:
        _VALIDATE(doc)
    except fastjsonschema.JsonSchemaValueException as e:
        parts = [int(p) if p.isdigit() else p for p in e.path[1:]]  # e.path[0] is "data"
        what = e.message.removeprefix(e.name).strip() if e.name else e.message
        raise HarnessError(f"results file {where} is malformed at {json_path(parts)}: {what}") from None
    return doc


def json_path(parts) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def first_non_finite(node: Any, path: tuple = ()) -> str | None:
    """The JSON path of the first NaN or Infinity in `node`, or None."""
    if isinstance(node, float):
        return None if math.isfinite(node) else json_path(path)
    if isinstance(node, dict):
        items: Iterable[tuple[Any, Any]] = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    for k, v in items:
        found = first_non_finite(v, (*path, k))
        if found:
            return found
    return None


def harness_gone(doc: dict) -> bool:
    """True when the harness that wrote this 'running' file ran on this host and no longer does."""
    import psutil

    proc = doc.get("harness_process") or {}
    if proc.get("hostname") != socket.gethostname() or not proc.get("pid"):
        return False
    try:
        p = psutil.Process(proc["pid"])
        created = proc.get("create_time")
        return created is not None and abs(p.create_time() - created) > 1.0  # the pid was reused
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _rewrite(path: Path, doc: dict) -> None:
    try:
        atomic_write(path, doc)
    except OSError:
        pass  # a read-only file is still read as crashed


def _settings_text(settings: dict) -> list[str]:
    """Run settings as a reader reads them: env as K=V, lists space-separated, a scenario's own ones
    ("spawn only: jvm_flags=-Xms1g ...") after the subject's."""
    out = []
    for key, value in settings.items():
        if key == "env":
            out.append(" ".join(f"{k}={v}" for k, v in value.items()))
        elif key == "per_scenario":
            out += [f"{scenario} only: {' '.join(_settings_text(own))}" for scenario, own in value.items()]
        elif isinstance(value, list):
            out.append(f"{key}={' '.join(map(str, value))}")
        else:
            out.append(f"{key}={value}")
    return [x for x in out if x]
