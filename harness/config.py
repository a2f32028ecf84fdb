"""Suite configuration: TOML in, one validated, fully resolved Suite out.

Every key is declared once in SCHEMA with its type, its allowed range and its
default, so an unknown key, a wrong type or an impossible value is rejected
before anything is built, with a message that names the key.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.subjects import RUNTIMES, SCENARIOS
from harness.subjects.runtime import EXTERNAL_KEYS
from harness.suitekeys import ROUND_KEYS, Key, int_key, num_key, strlist_key

SUITES_DIR = Path(__file__).parent / "suites"

# The general sections; each scenario adds its own section (its suite_keys) and
# each runtime descriptor its [runtime.NAME] keys.
GENERAL: dict[str, dict[str, Key] | Key] = {
    "name": Key(str, "custom", lambda v: bool(v.strip()), "a non-empty string"),
    "description": Key(str, ""),
    "runtimes": strlist_key(None, list(RUNTIMES)),
    "scenarios": strlist_key(tuple(SCENARIOS), list(SCENARIOS)),
    "trials": {
        "count": int_key(1, 1000, 5),
        "warmup": int_key(0, 100, 1),
        "timeout_s": num_key(1, 86_400, 600),
        # Under qemu emulation (arm64 on an x86_64 host) every limit is this many times longer: the quick
        # suite took 7.4x its native time there, and a JIT-compiled server much more at its start.
        "emulation_timeout_factor": num_key(1, 1000, 10),
    },
    "sampling": {
        "interval_ms": num_key(0, 10_000, 20),  # 0 switches the sampler off (overhead benchmark)
        "series_points": int_key(10, 100_000, 200),
    },
    "noise": {
        "steal_threshold_pct": num_key(0, 100, 10.0),
        "repeat_noisy": Key(bool, False),
        "max_repeats": int_key(0, 100, 3),
    },
    "cpus": {
        "workload": Key(str, "1", rule='a CPU list such as "1", "0-1" or "0,2"'),
        "loadgen": Key(str, "0", rule="a CPU list"),
        "harness": Key(str, "0", rule="a CPU list"),
    },
    "profile": {
        # one more trial per benchmark, after the measured ones, with the runtime's own CPU profiler on;
        # never summarised with the measured trials (harness run --profile)
        "enabled": Key(bool, False),
    },
    "docker": {  # the container backend only
        "memory_limit_mib": int_key(0, 100_000_000, 0),  # per container; 0: three quarters of the engine's memory
        "nofile": int_key(0, 1_048_576, 0),  # open-files ulimit; 0: http's largest stage + 1024, at least 4096
    },
}
SCHEMA: dict[str, dict[str, Key] | Key] = {
    **GENERAL,
    **{name: {**s.suite_keys, **ROUND_KEYS} for name, s in SCENARIOS.items()},
}


def rounds_of(suite: Suite, scenario: str) -> tuple[int, int]:
    """(warm-up rounds, measured rounds) of one scenario: its own section's, else [trials]'."""
    section = suite[scenario]
    warmup = section["warmup_trials"] if section["warmup_trials"] is not None else suite["trials"]["warmup"]
    count = section["trials"] if section["trials"] is not None else suite["trials"]["count"]
    return warmup, count


@dataclass
class Suite:
    name: str
    source: str
    values: dict[str, Any]
    runtime_settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, section: str) -> Any:
        return self.values[section]

    @property
    def runtimes(self) -> list[str]:
        return self.values["runtimes"]

    @property
    def scenarios(self) -> list[str]:
        return self.values["scenarios"]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            **copy.deepcopy(self.values),
            "runtime": copy.deepcopy(self.runtime_settings),
        }


def builtin_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def load_suite(name_or_path: str, overrides: list[str] | None = None, sweeps: list[str] | None = None) -> Suite:
    """Load a built-in suite by name or a user's TOML file, apply `section.key=value`
    overrides and `section.key=v1,v2` sweeps."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = SUITES_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise HarnessError(
                f"unknown suite '{name_or_path}': use one of {', '.join(builtin_suites())} or the path of a TOML file"
            )
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"suite file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise HarnessError(f"cannot read suite file {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"suite file {path} is not valid TOML: {e}") from None
    for item in overrides or []:
        _apply_override(raw, item)
    for item in sweeps or []:
        dotted, vals = parse_sweep(item)
        raw.setdefault("sweep", {})[dotted] = vals
    return validate(raw, source=str(path))


def _apply_override(raw: dict, item: str) -> None:
    dotted, sep, literal = item.partition("=")
    if not sep or not dotted.strip():
        raise HarnessError(f"--set {item!r}: write it as section.key=value, e.g. spawn.tasks=1000")
    try:
        value = tomllib.loads(f"v = {literal.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = literal.strip()  # a bare word is a string
    parts = dotted.strip().split(".")
    node = raw
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise HarnessError(f"--set {item!r}: '{p}' is not a section")
    node[parts[-1]] = value


def _check(where: str, key: Key, value: Any) -> Any:
    kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
    if kinds == (str,) and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # cpus.workload = 1 means "1"
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok or not key.check(value):
        rule = key.rule or f"a {'/'.join(k.__name__ for k in kinds)}"
        raise HarnessError(f"suite key {where} must be {rule}, got {value!r}")
    return value


def validate(raw: dict[str, Any], source: str = "<dict>") -> Suite:
    values: dict[str, Any] = {}
    for name, spec in SCHEMA.items():
        given = raw.get(name, {} if isinstance(spec, dict) else spec.default)
        if isinstance(spec, dict):
            if not isinstance(given, dict):
                raise HarnessError(f"suite key [{name}] must be a table, got {given!r}")
            unknown = sorted(set(given) - set(spec))
            if unknown:
                raise HarnessError(
                    f"unknown suite key {name}.{unknown[0]}: known keys of [{name}] are {', '.join(spec)}"
                )
            values[name] = {
                k: _check(f"{name}.{k}", key, given.get(k, copy.deepcopy(key.default))) for k, key in spec.items()
            }
        else:
            values[name] = _check(name, spec, given)
    unknown = sorted(set(raw) - set(SCHEMA) - {"runtime", "sweep"})
    if unknown:
        raise HarnessError(
            f"unknown suite key '{unknown[0]}': known keys are {', '.join([*SCHEMA, 'runtime', 'sweep'])}"
        )
    values["sweep"] = _sweep(raw.get("sweep", {}), values)

    runtime_tables = raw.get("runtime", {})
    if not isinstance(runtime_tables, dict):
        raise HarnessError("suite key [runtime] must be a table of [runtime.NAME] tables")
    settings: dict[str, dict[str, Any]] = {}
    for rt in sorted(set(values["runtimes"]) | set(runtime_tables)):
        table = runtime_tables.get(rt, {})
        if not isinstance(table, dict):
            raise HarnessError(f"suite key [runtime.{rt}] must be a table")
        if rt not in RUNTIMES and "command" not in table:
            raise HarnessError(
                f"unknown runtime '{rt}': use {', '.join(RUNTIMES)}, or declare "
                f"[runtime.{rt}] command = [...] for a prebuilt workload"
            )
        spec = RUNTIMES[rt].suite_keys if rt in RUNTIMES else EXTERNAL_KEYS
        unknown = sorted(set(table) - set(spec))
        if unknown:
            raise HarnessError(f"unknown suite key runtime.{rt}.{unknown[0]}: known keys are {', '.join(spec)}")
        settings[rt] = {
            k: _check(f"runtime.{rt}.{k}", key, table.get(k, copy.deepcopy(key.default))) for k, key in spec.items()
        }
    if values["trials"]["warmup"] + values["trials"]["count"] > 1000:
        raise HarnessError("suite keys trials.count + trials.warmup must not exceed 1000")
    return Suite(name=values["name"], source=source, values=values, runtime_settings=settings)


SWEEPABLE_CPUS = "cpus.workload"  # W = 1, 2, ...: every scenario's benchmarks vary with it


def _sweep(table: Any, values: dict[str, Any]) -> dict[str, list]:
    """[sweep] "section.key" = [v1, v2, ...]: every point is its own benchmark, in one interleaved session."""
    if not isinstance(table, dict):
        raise HarnessError('suite key [sweep] must be a table of "section.key" = [values]')
    out: dict[str, list] = {}
    for dotted, vals in table.items():
        section, _, name = dotted.partition(".")
        spec = SCHEMA.get(section)
        key = spec.get(name) if isinstance(spec, dict) else None
        if (
            key is None
            or not (key.sweepable or dotted == SWEEPABLE_CPUS)
            or section in GENERAL
            and dotted != SWEEPABLE_CPUS
        ):
            raise HarnessError(
                f"--sweep {dotted}: only a scenario's numeric keys (e.g. spawn.tasks, live.tasks, http.rate_per_s) "
                f"and {SWEEPABLE_CPUS} can be swept"
            )
        if not isinstance(vals, list) or not vals or len({str(v) for v in vals}) != len(vals):
            raise HarnessError(f"--sweep {dotted}: give at least one value, each once, e.g. {dotted}=1000,10000")
        out[dotted] = [_check(f"{dotted} (sweep)", key, v) for v in vals]
    return out


def sweep_points(suite: Suite) -> list[dict[str, Any]]:
    """Every combination of the swept values ([{}] when nothing is swept)."""
    points: list[dict[str, Any]] = [{}]
    for dotted, vals in suite["sweep"].items():
        points = [{**p, dotted: v} for p in points for v in vals]
    return points


def with_value(suite: Suite, dotted: str, value: Any) -> Suite:
    """The suite with one key changed (re-validated, so the same rules hold)."""
    raw = suite.to_json()
    raw.pop("source")
    section, _, name = dotted.partition(".")
    if name:
        raw[section][name] = value
    else:
        raw[section] = value  # a top-level key ("scenarios")
    return validate(raw, source=suite.source)


def at_point(suite: Suite, point: dict[str, Any]) -> Suite:
    """The suite with one point's values in place (and nothing left to sweep)."""
    raw = suite.to_json()
    raw.pop("source")
    raw["sweep"] = {}
    for dotted, v in point.items():
        section, _, name = dotted.partition(".")
        raw[section][name] = v
    return validate(raw, source=suite.source)


def parse_sweep(item: str) -> tuple[str, list]:
    """--sweep spawn.tasks=10000,100000 -> ("spawn.tasks", [10000, 100000])."""
    dotted, sep, literal = item.partition("=")
    if not sep or not dotted.strip() or not literal.strip():
        raise HarnessError(f"--sweep {item!r}: write it as section.key=v1,v2,..., e.g. spawn.tasks=10000,100000")
    vals = []
    for text in literal.split(","):
        try:
            vals.append(tomllib.loads(f"v = {text.strip()}")["v"])
        except tomllib.TOMLDecodeError:
            vals.append(text.strip())  # a bare word (e.g. a CPU list such as 0-1) is a string
    return dotted.strip(), vals


def restrict(suite: Suite, runtimes: list[str] | None, scenarios: list[str] | None, trials: int | None) -> Suite:
    """Apply the CLI's --runtimes/--scenarios/--trials by re-validating, so the same rules hold."""
    raw = suite.to_json()
    raw.pop("source")
    if runtimes is not None:
        raw["runtimes"] = runtimes
    if scenarios is not None:
        raw["scenarios"] = scenarios
    if trials is not None:  # for every scenario: --trials outranks the suite's own counts
        raw["trials"]["count"] = trials
        for name in SCENARIOS:
            raw[name]["trials"] = None
    return validate(raw, source=suite.source)
