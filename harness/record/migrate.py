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


MIGRATIONS = {1: v1_to_v2, 2: v2_to_v3}


def migrate(doc: dict) -> dict:
    version = doc["schema_version"]
    if version not in MIGRATIONS:
        return doc
    doc = copy.deepcopy(doc)
    while doc["schema_version"] in MIGRATIONS:
        doc = MIGRATIONS[doc["schema_version"]](doc)
    return doc
