"""Reading a results file: every reader (summary, report, gate, export, publish)
goes through load()."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import HarnessError

SCHEMA_NAME = "harness-results"
SCHEMA_VERSION = 1


def load(path: str | Path) -> dict:
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise HarnessError(f"results file {p} does not exist") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HarnessError(f"results file {p} is not readable JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_NAME:
        raise HarnessError(f"{p} is not a harness results file (no \"schema\": \"{SCHEMA_NAME}\")")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise HarnessError(f"{p} has results schema version {doc.get('schema_version')}; this harness reads "
                           f"version {SCHEMA_VERSION}")
    return doc
