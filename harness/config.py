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
from harness.subject_id import SEPARATOR, SubjectId
from harness.subjects import RUNTIMES, SCENARIOS
from harness.subjects.runtimes.runtime import EXTERNAL_KEYS
from harness.suitekeys import ROUND_KEYS, Key, int_key, num_key, strlist_key

SUITES_DIR = Path(__file__).parent / "suites"
METRIC_KEYS = frozenset(m.key for s in SCENARIOS.values() for m in s.metrics)

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
        # other processes' share of the workload's CPUs during a trial above which it is noisy
        "others_threshold_pct": num_key(0, 100, 10.0),
        "repeat_noisy": Key(bool, False),
        "max_repeats": int_key(0, 100, 3),
    },
    "loadgen": {
        # Docker engines (unix://, ssh://, tcp://) that each run one load generator container: the load of a
        # scenario that needs one is split between them instead of coming from beside the harness
        "engines": Key(
            list,
            [],
            lambda v: (
                all(isinstance(x, str) and x.split("://")[0] in ("unix", "ssh", "tcp") for x in v)
                and len(set(v)) == len(v)
            ),
            'a list of distinct Docker engine addresses, e.g. ["ssh://root@gen1", "tcp://10.0.0.7:2375"]',
        ),
    },
    "cpus": {
        "workload": Key(str, "1", rule='a CPU list such as "1", "0-1" or "0,2"'),
        "loadgen": Key(str, "0", rule="a CPU list"),
        "harness": Key(str, "0", rule="a CPU list"),
    },
    "precision": {
        # each headline metric's 95% interval (of the mean over processes) within this many percent of it:
        # after the suite's trials, trials are added to the benchmarks that miss it, interleaved, until
        # it is reached, the scenario's budget is spent or a benchmark has max_trials; 0: no target
        "target_pct": num_key(0, 1000, 0),
        "metrics": Key(
            dict,
            {},
            lambda v: all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in v.values()),
            "a table of metric = percent, e.g. { latency_p99_ns = 15 }",
        ),
        "budget_s": num_key(0, 86_400, 600),  # per scenario, for the added trials
        "max_trials": int_key(1, 1000, 30),  # measured trials of one benchmark at most
    },
    "gate": {
        # the regression gate's threshold: the smallest change that counts, in each metric's bad direction
        "threshold_pct": num_key(0, 1000, 5),
        # per metric key its own threshold in percent (a p99 needs a wider one); 0 leaves a metric ungated
        # (or "SCENARIO/SUBJECT:METRIC" for one benchmark's, judged against its own measured noise)
        "metrics": Key(
            dict,
            {},
            lambda v: (
                all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in v.values())
                and all(k.rpartition(":")[2] in METRIC_KEYS for k in v)
            ),
            'a table of metric = percent, e.g. { latency_p99_ns = 25, "http/java:kib_per_connection" = 0 }',
        ),
        # harness ab: rounds added for the benchmarks still undecided, up to this many in all (0: none)
        "max_rounds": int_key(0, 1000, 0),
        # the metric keys gated (the Holm family); empty: every headline metric. The other headline and shown
        # metrics are compared and shown beside the verdict with their intervals, never gated
        "gated": Key(
            list,
            [],
            lambda v: all(isinstance(x, str) and x in METRIC_KEYS for x in v),
            'a list of metric keys, e.g. ["cpu_ns_per_task", "kib_per_connection"]',
        ),
        # a round pair whose CPU steal differs by more than this many points is left out of the rates and wall
        # times it would bias (steal-free costs keep every pair); 0: no pair is left out
        "steal_pair_pct": num_key(0, 100, 0),
    },
    "profile": {
        # one more trial per benchmark, after the measured ones, with the runtime's own CPU profiler on;
        # never summarised with the measured trials (harness run --profile)
        "enabled": Key(bool, False),
    },
    "memory": {
        # natively, every trial runs in a memory cgroup of its own with this limit (0: three quarters of
        # the host's memory), so that an over-limit workload dies alone and its OOM kill is named
        "limit_mib": int_key(0, 100_000_000, 0),
        "guard": Key(bool, True),  # refuse a suite whose estimated memory exceeds what is available (--force)
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
class Variant:
    """A runtime plus named overrides, run as its own subject (`go@1.24`): its base
    runtime, the scenarios it runs in (None: every one), and what a sweep of a runtime
    key made it (the key and its value), if a sweep did."""

    id: str
    runtime: str
    scenarios: list[str] | None = None
    swept: tuple[str, Any] | None = None
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"runtime": self.runtime}
        if self.scenarios is not None:
            out["scenarios"] = list(self.scenarios)
        if self.swept is not None:
            out["swept"] = list(self.swept)
        if self.description:
            out["description"] = self.description
        return out


@dataclass
class Suite:
    name: str
    source: str
    values: dict[str, Any]
    # settings of every subject: [runtime.NAME] for a runtime, its runtime's overlaid with its own for a variant
    runtime_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)

    def __getitem__(self, section: str) -> Any:
        return self.values[section]

    @property
    def runtimes(self) -> list[str]:
        """Every subject of the suite, in order: its runtimes and its variants (ids such as go@1.24)."""
        return self.values["runtimes"]

    @property
    def scenarios(self) -> list[str]:
        return self.values["scenarios"]

    def runtime_of(self, subject: str) -> str:
        """The runtime a subject is (itself, or a variant's base)."""
        return self.variants[subject].runtime if subject in self.variants else subject

    def subjects_for(self, scenario: str) -> list[str]:
        """The subjects that run in `scenario` (a variant may name the scenarios it is for)."""
        return [
            s for s in self.runtimes if s not in self.variants or scenario in (self.variants[s].scenarios or [scenario])
        ]

    def to_json(self) -> dict[str, Any]:
        plain = {k: v for k, v in self.runtime_settings.items() if k not in self.variants}
        return {
            "name": self.name,
            "source": self.source,
            **copy.deepcopy(self.values),
            "runtime": copy.deepcopy(plain),
            "variants": {
                vid: {**v.to_json(), **copy.deepcopy(self.runtime_settings[vid])} for vid, v in self.variants.items()
            },
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
        if dotted.startswith("runtime."):
            _sweep_runtime_key(raw, dotted, vals)
        else:
            raw.setdefault("sweep", {})[dotted] = vals
    return validate(raw, source=str(path))


def _sweep_runtime_key(raw: dict, dotted: str, vals: list) -> None:
    """--sweep runtime.go.toolchain=1.22.12,1.26.8: every value its own variant
    (go@toolchain=1.22.12, ...), standing where the runtime stood in the list."""
    parts = dotted.split(".")
    if len(parts) != 3 or parts[1] not in RUNTIMES or parts[2] not in RUNTIMES[parts[1]].suite_keys:
        raise HarnessError(
            f"--sweep {dotted}: name a runtime setting, e.g. runtime.go.toolchain or runtime.java.gc "
            f"(runtimes: {', '.join(RUNTIMES)})"
        )
    _, rt, key = parts
    if not vals or len({str(v) for v in vals}) != len(vals):
        raise HarnessError(f"--sweep {dotted}: give at least one value, each once")
    ids = [f"{rt}@{key}={v}" for v in vals]
    for vid, v in zip(ids, vals, strict=True):
        raw.setdefault("variants", {})[vid] = {"runtime": rt, key: v, "swept": [key, v]}
    names = list(raw.get("runtimes", list(RUNTIMES)))
    at = names.index(rt) if rt in names else len(names)
    raw["runtimes"] = [*names[:at], *ids, *[n for n in names[at + 1 :] if n != rt]]


def dotted_parts(dotted: str) -> list[str]:
    """TOML's dotted keys: `spawn.tasks`, `variants."go@1.24".toolchain` (quotes keep dots in a name)."""
    try:
        node = tomllib.loads(f"{dotted.strip()} = 0")
    except tomllib.TOMLDecodeError:
        return dotted.strip().split(".")
    parts = []
    while isinstance(node, dict) and len(node) == 1:
        ((k, node),) = node.items()
        parts.append(k)
    return parts


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside brackets, braces and quotes: a=1,b=[1, 2],c={x="y,z"} -> three items."""
    out, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(current)
            current = ""
            continue
        current += ch
    if current.strip():
        out.append(current)
    return [x.strip() for x in out if x.strip()]


def _apply_override(raw: dict, item: str) -> None:
    dotted, sep, literal = item.partition("=")
    if not sep or not dotted.strip():
        raise HarnessError(f"--set {item!r}: write it as section.key=value, e.g. spawn.tasks=1000")
    try:
        value = tomllib.loads(f"v = {literal.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = literal.strip()  # a bare word is a string
    parts = dotted_parts(dotted)
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
    unknown = sorted(set(raw) - set(SCHEMA) - {"runtime", "sweep", "variants"})
    if unknown:
        raise HarnessError(
            f"unknown suite key '{unknown[0]}': known keys are {', '.join([*SCHEMA, 'runtime', 'variants', 'sweep'])}"
        )
    values["sweep"] = _sweep(raw.get("sweep", {}), values)

    variant_tables = raw.get("variants", {})
    if not isinstance(variant_tables, dict) or not all(isinstance(t, dict) for t in variant_tables.values()):
        raise HarnessError('suite key [variants] must be a table of [variants."RUNTIME@NAME"] tables')
    variants = {v.id: v for v in (_variant(key, table) for key, table in variant_tables.items())}
    runtime_tables = raw.get("runtime", {})
    if not isinstance(runtime_tables, dict):
        raise HarnessError("suite key [runtime] must be a table of [runtime.NAME] tables")
    settings: dict[str, dict[str, Any]] = {}
    plain = {n for n in values["runtimes"] if n not in variants}
    for rt in sorted(plain | set(runtime_tables) | {v.runtime for v in variants.values()}):
        table = runtime_tables.get(rt, {})
        if not isinstance(table, dict):
            raise HarnessError(f"suite key [runtime.{rt}] must be a table")
        if rt not in RUNTIMES and "command" not in table:
            raise HarnessError(
                f"unknown runtime '{rt}': use {', '.join(RUNTIMES)}, a variant declared in [variants], or "
                f"declare [runtime.{rt}] command = [...] for a prebuilt workload"
            )
        spec = {**(RUNTIMES[rt].suite_keys if rt in RUNTIMES else EXTERNAL_KEYS), **COMMON_RUN_KEYS}
        unknown = sorted(set(table) - set(spec))
        if unknown:
            raise HarnessError(f"unknown suite key runtime.{rt}.{unknown[0]}: known keys are {', '.join(spec)}")
        settings[rt] = {
            k: _check(f"runtime.{rt}.{k}", key, table.get(k, copy.deepcopy(key.default))) for k, key in spec.items()
        }
        _per_scenario(f"runtime.{rt}", rt, spec, settings[rt]["per_scenario"])
    for vid, v in variants.items():  # the runtime's settings, overlaid with the variant's own
        table = variant_tables.get(vid) or variant_tables.get(SubjectId.parse(vid).variant) or {}
        spec = {**RUNTIMES[v.runtime].suite_keys, **COMMON_RUN_KEYS}
        settings[vid] = {
            k: _check(f'variants."{vid}".{k}', key, copy.deepcopy(table[k]) if k in table else settings[v.runtime][k])
            for k, key in spec.items()
        }
        _per_scenario(f'variants."{vid}"', v.runtime, spec, settings[vid]["per_scenario"])
    values["runtimes"] = [  # a variant for none of the suite's scenarios is not a subject of it (nor built)
        n
        for n in _with_variants(values["runtimes"], variants)
        if n not in variants or set(variants[n].scenarios or values["scenarios"]) & set(values["scenarios"])
    ]
    if values["trials"]["warmup"] + values["trials"]["count"] > 1000:
        raise HarnessError("suite keys trials.count + trials.warmup must not exceed 1000")
    return Suite(name=values["name"], source=source, values=values, runtime_settings=settings, variants=variants)


VARIANT_KEYS = ("runtime", "scenarios", "swept", "description")  # a variant's own keys, beside its runtime's


def _variant(key: str, table: dict) -> Variant:
    """[variants."go@1.24"] (or [variants.NAME] with runtime = "go"): a runtime plus named overrides."""
    declared = table.get("runtime")
    if SEPARATOR not in key:
        if not isinstance(declared, str):
            raise HarnessError(f'variant {key!r}: name it RUNTIME@NAME (e.g. "go@1.24") or give runtime = "go"')
        key = str(SubjectId(declared, key))
    sid = SubjectId.checked(key, f"variant {key!r}")
    base = sid.runtime
    if declared is not None and declared != base:
        raise HarnessError(f'variant {key!r}: runtime = "{declared}" does not match the name\'s "{base}"')
    if base not in RUNTIMES:
        raise HarnessError(f"variant {key!r}: unknown runtime '{base}': use {', '.join(RUNTIMES)}")
    vid = str(sid)
    spec = {**RUNTIMES[base].suite_keys, **COMMON_RUN_KEYS}
    unknown = sorted(set(table) - set(spec) - set(VARIANT_KEYS))
    if unknown:
        raise HarnessError(
            f'unknown suite key variants."{vid}".{unknown[0]}: known keys are {", ".join([*VARIANT_KEYS, *spec])}'
        )
    scenarios = table.get("scenarios")
    if scenarios is not None and (
        not isinstance(scenarios, list) or not scenarios or any(s not in SCENARIOS for s in scenarios)
    ):
        raise HarnessError(f'suite key variants."{vid}".scenarios must be a list from {", ".join(SCENARIOS)}')
    swept = table.get("swept")
    return Variant(
        vid,
        base,
        list(scenarios) if scenarios is not None else None,
        (swept[0], swept[1]) if isinstance(swept, list) and len(swept) == 2 else None,
        str(table.get("description", "")),
    )


def _with_variants(names: list[str], variants: dict[str, Variant]) -> list[str]:
    """The subjects in order: the listed ones, and every declared variant not listed right after
    the last subject of its runtime (so that a runtime's variants run beside it)."""
    out = list(names)
    for vid, v in variants.items():
        if vid in out:
            continue
        at = max(
            (i for i, n in enumerate(out) if n == v.runtime or (n in variants and variants[n].runtime == v.runtime)),
            default=len(out) - 1,
        )
        out.insert(at + 1, vid)
    return out


# Run settings every runtime takes beside its own keys, applied by the trial, not by the descriptor:
# - layout: where the program's memory lands. "default": as the kernel randomises it (ASLR); "fixed": ASLR
#   off (setarch -R), the same layout in every process; "per-round": ASLR off, the layout varied between
#   rounds (the environment's size moves the stack), the same for every subject of a round, so that a pair
#   compares like with like and no one layout becomes a persistent bias. Native trials only.
# - per_scenario: run settings for one scenario only, e.g. [runtime.java.per_scenario.spawn] jvm_flags = [...]
LAYOUTS = ("default", "fixed", "per-round")
COMMON_RUN_KEYS: dict[str, Key] = {
    "layout": Key(str, "default", lambda v: v in LAYOUTS, f"one of {', '.join(LAYOUTS)}"),
    "per_scenario": Key(
        dict,
        {},
        lambda v: all(isinstance(x, dict) for x in v.values()),
        "a table of [per_scenario.SCENARIO] tables of run settings",
    ),
}


def run_keys(runtime: str) -> tuple[str, ...]:
    """The settings a scenario may set for itself: what the runtime runs with, not what it is built with."""
    return RUNTIMES[runtime].run_keys if runtime in RUNTIMES else ("env", "layout")


def _per_scenario(where: str, runtime: str, spec: dict[str, Key], table: dict) -> dict:
    """[...per_scenario.SCENARIO] tables: each a known scenario, each key a run setting, each value valid."""
    for scenario, keys in table.items():
        if scenario not in SCENARIOS:
            raise HarnessError(f"{where}.per_scenario.{scenario}: not a scenario; use {', '.join(SCENARIOS)}")
        for k, v in keys.items():
            if k not in run_keys(runtime):
                raise HarnessError(
                    f"{where}.per_scenario.{scenario}.{k}: a scenario sets only run settings "
                    f"({', '.join(run_keys(runtime))})"
                )
            _check(f"{where}.per_scenario.{scenario}.{k}", spec[k], v)
    return table


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
    if runtimes is not None:  # exactly these subjects: a runtime named alone does not bring its variants
        raw["runtimes"] = runtimes
        raw["variants"] = {k: v for k, v in raw.get("variants", {}).items() if k in runtimes}
    if scenarios is not None:
        raw["scenarios"] = scenarios
    if trials is not None:  # for every scenario: --trials outranks the suite's own counts
        raw["trials"]["count"] = trials
        for name in SCENARIOS:
            raw[name]["trials"] = None
    return validate(raw, source=suite.source)
