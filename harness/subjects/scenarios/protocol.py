"""The workload protocol (workloads/PROTOCOL.md) as the harness checks it: the
JSON Schema of the result line every workload prints."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema

from harness.errors import TrialError

RESULT_SCHEMA = json.loads(
    resources.files("harness.subjects.scenarios").joinpath("workload-result.schema.json").read_text()
)
_VALIDATOR = jsonschema.Draft202012Validator(RESULT_SCHEMA)
VERSION: int = RESULT_SCHEMA["properties"]["protocol"]["const"]  # bumped whenever the workloads' work changes


def check_result(result: dict) -> None:
    """Raise TrialError naming the first place where the result line breaks the protocol."""
    errors = sorted(_VALIDATOR.iter_errors(result), key=lambda e: list(e.path))
    if errors:
        where = "/".join(map(str, errors[0].path)) or "(top)"
        raise TrialError(f"result line does not match the protocol schema at {where}: {errors[0].message}")
