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


MIGRATIONS = {1: v1_to_v2}


def migrate(doc: dict) -> dict:
    version = doc["schema_version"]
    if version not in MIGRATIONS:
        return doc
    doc = copy.deepcopy(doc)
    while doc["schema_version"] in MIGRATIONS:
        doc = MIGRATIONS[doc["schema_version"]](doc)
    return doc
