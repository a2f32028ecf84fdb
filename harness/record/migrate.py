"""Older results files, read through explicit migrations (as pyperf reads its
old files): each step turns version N into N+1, so every reader sees the
current schema only. A file is never rewritten by a migration."""

from __future__ import annotations

import copy


def v1_to_v2(doc: dict) -> dict:
    """Version 2 records emulation once (top level, not also under host) and the
    writing harness's process (absent in version 1: such a file is never marked
    crashed by a reader)."""
    host = doc.get("host")
    if isinstance(host, dict) and "emulated" in host:
        doc.setdefault("emulated", host.pop("emulated"))
    doc.setdefault("harness_process", {"pid": None, "hostname": None, "create_time": None})
    doc["schema_version"] = 2
    return doc


# The colours version 2 files were drawn in (their runtimes' descriptors then); version 3
# records each subject's colour and label itself, so readers never ask a descriptor.
V2_COLOURS = {"go": "#0072B2", "rust": "#D55E00", "java": "#009E73", "floor": "#777777"}


def v2_to_v3(doc: dict) -> dict:
    """Version 3 keeps one instrument floor per scenario (`floors`, keyed by scenario;
    version 2 had one `floor` slot) and what readers show of each subject (`subjects`:
    runtime, colour, label) so that they read the results file alone."""
    floor = doc.pop("floor", None)
    floors = doc.setdefault("floors", {})
    if isinstance(floor, dict) and isinstance(floors, dict):
        floors.setdefault(floor.get("scenario", "http"), floor)
    names = [b.get("runtime") for b in doc.get("benchmarks") or [] if isinstance(b, dict)]
    doc.setdefault(
        "subjects",
        {
            n: {"runtime": n, "colour": V2_COLOURS.get(n), "label": n}
            for n in dict.fromkeys([*names, *(["floor"] if floor else [])])
            if isinstance(n, str)
        },
    )
    doc["schema_version"] = 3
    return doc


# What version 3's descriptors declared: the settings that chose a subject's toolchain, and the run
# settings readers showed (Java's collector and flags); version 4 records both per subject.
V3_TOOLCHAIN_KEYS = {"go": ["toolchain"], "rust": ["toolchain"], "java": ["jdk"]}
V3_SHOWN = {"java": ["env", "gc", "jvm_flags"]}


def v3_to_v4(doc: dict) -> dict:
    """Version 4 records, per subject, what its descriptor says identifies its toolchain and which run
    settings readers show (`subjects[...]`: toolchain_keys, toolchain_settings, run_settings), and where
    the trials ran as one typed placement (`placement`, in place of version 3's `docker`: the engine's
    facts, or the native host's)."""
    suite = doc.get("suite")
    suite = suite if isinstance(suite, dict) else {}
    settings = {**(suite.get("runtime") or {}), **(suite.get("variants") or {})}
    for name, shown in (doc.get("subjects") or {}).items():
        if not isinstance(shown, dict) or name == "floor":
            continue
        runtime = shown.get("runtime") or name
        own = settings.get(name)
        own = own if isinstance(own, dict) else {}
        keys = V3_TOOLCHAIN_KEYS.get(runtime, [])
        shown.setdefault("toolchain_keys", keys)
        shown.setdefault("toolchain_settings", {k: own[k] for k in keys if own.get(k)})
        shown.setdefault("run_settings", {k: own[k] for k in V3_SHOWN.get(runtime, ["env"]) if own.get(k)})
    docker = doc.pop("docker", None)
    if isinstance(docker, dict):
        placement = {"engine": "docker", **docker}
    else:
        placement = {"engine": "native", "arch": doc.get("arch"), "local": True}
    doc.setdefault("placement", placement)
    doc["schema_version"] = 4
    return doc


MIGRATIONS = {1: v1_to_v2, 2: v2_to_v3, 3: v3_to_v4}


def migrate(doc: dict) -> dict:
    version = doc["schema_version"]
    if version not in MIGRATIONS:
        return doc
    doc = copy.deepcopy(doc)
    while doc["schema_version"] in MIGRATIONS:
        doc = MIGRATIONS[doc["schema_version"]](doc)
    return doc
