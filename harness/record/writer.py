"""The results file: the one canonical record of a run (schema in
docs/results-schema.md). It is rewritten atomically after every trial, so a
crash or Ctrl-C loses nothing that finished, and it says whether the run
completed."""

from __future__ import annotations

import json
import math
import os
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from harness import __version__
from harness.errors import HarnessError
from harness.record.stats import summarise_benchmark
from harness.record.trial import TrialRecord
from harness.record.units import fmt_value

SCHEMA_NAME = "harness-results"
FLOOR = "floor"  # the runtime name of a scenario's instrument benchmark (not a subject)


def floor_id(scenario: str) -> str:
    return f"{scenario}/{FLOOR}"


SCHEMA_VERSION = 4

_UMASK = os.umask(0)
os.umask(_UMASK)


def default_path(results_dir: Path, arch: str, short_sha: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return results_dir / f"{stamp}-{arch}-{short_sha}.json"


def check_writable(path: Path) -> None:
    """Fail before building anything if the results file cannot be written."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise HarnessError(
            f"cannot write results to {directory}: {e.strerror or e}; pass --out with a writable path"
        ) from None


def this_process() -> dict:
    """Who writes the file, so that a reader can tell a live run from a killed one."""
    import psutil

    return {"pid": os.getpid(), "hostname": socket.gethostname(), "create_time": psutil.Process().create_time()}


class ResultsWriteError(HarnessError):
    """The results file could not be written (a full disk, an unwritable directory): the last
    complete file stays as it was; the run stops as interrupted, to be resumed."""

    def __init__(self, path: Path, error: OSError, kept: int, needed: int) -> None:
        self.path, self.kept, self.needed = path, kept, needed
        super().__init__(
            f"cannot write {path}: {error.strerror or error} (the next write needed {fmt_value(needed, 'B')}); "
            f"the last complete file keeps {kept} finished trial(s)"
        )


class ResultsFile:
    def __init__(self, path: Path, header: dict):
        self.path = path
        self.doc = {
            "schema": SCHEMA_NAME,
            "schema_version": SCHEMA_VERSION,
            "harness_version": __version__,
            "harness_process": this_process(),
            "status": "running",
            "started_at": time.time(),
            "finished_at": None,
            **header,
            "benchmarks": [],
            "floors": {},
            "warnings": [],
        }
        self._index: dict[str, dict] = {}
        self.write()

    @classmethod
    def reopen(cls, path: Path, doc: dict) -> ResultsFile:
        """Continue an interrupted or crashed run in its own file (harness run --resume)."""
        f = cls.__new__(cls)
        f.path, f.doc = path, doc
        f._index = {b["id"]: b for b in [*doc["benchmarks"], *(doc.get("floors") or {}).values()]}
        doc.setdefault("resumed", []).append(
            {"at": time.time(), "from_status": doc["status"], "harness_process": this_process()}
        )
        doc.update(status="running", finished_at=None, harness_process=this_process())
        f.write()
        return f

    def benchmark(self, bench_id: str, scenario: str, runtime: str, **fields) -> dict:
        if bench_id in self._index:  # a resumed run: the benchmark is already there
            self._index[bench_id].update({k: v for k, v in fields.items() if k == "build"})
        if bench_id not in self._index:
            b = {"id": bench_id, "scenario": scenario, "runtime": runtime, **fields, "trials": [], "summary": {}}
            self.doc["benchmarks"].append(b)
            self._index[bench_id] = b
        return self._index[bench_id]

    def floor(self, scenario: str, **fields) -> dict:
        """A scenario's instrument benchmark (e.g. the load generator against its reference
        responder): shaped like a benchmark, one per scenario, kept apart from the runtimes'."""
        floors = self.doc.setdefault("floors", {})
        if scenario not in floors:
            floors[scenario] = {
                "id": floor_id(scenario),
                "scenario": scenario,
                "runtime": FLOOR,
                **fields,
                "trials": [],
                "summary": {},
            }
        self._index[floors[scenario]["id"]] = floors[scenario]
        return floors[scenario]

    def add_trial(self, bench_id: str, trial: TrialRecord) -> None:
        """One finished trial of a benchmark (or of a scenario's floor), validated as it is written."""
        b = self._index[bench_id]
        b["trials"].append(trial.check(bench_id))
        if trial.ok and "settings" not in b and trial.workload and b["runtime"] != FLOOR:
            b["settings"] = trial.workload.get("settings", {})
        b["summary"] = summarise_benchmark(b)
        self.write()

    def derive(self, key: str, value) -> None:
        """A block derived from the trials (e.g. the ratios between subjects): a cache for other tools;
        every reader of this harness recomputes it from the trials."""
        self.doc[key] = value

    def note_precision(self, scenario: str, **facts) -> None:
        """How the session went after the precision target of one scenario (rounds added, time, why it stopped)."""
        self.doc.setdefault("precision_log", []).append({"scenario": scenario, **facts})
        self.write()

    def warn(self, message: str) -> None:
        if message not in self.doc["warnings"]:
            self.doc["warnings"].append(message)

    def finish(self, status: str) -> None:
        self.doc["status"] = status
        self.doc["finished_at"] = time.time()
        self.write()

    def trials(self) -> int:
        return sum(len(b["trials"]) for b in self.doc["benchmarks"])

    def write(self) -> None:
        try:
            atomic_write(self.path, self.doc)
        except OSError as e:
            kept = getattr(self, "_kept", 0)
            raise ResultsWriteError(self.path, e, kept, len(json.dumps(finite(self.doc), default=str))) from None
        self._kept = self.trials()


def finite(node):
    """The document with every NaN or Infinity replaced by null: the results file
    never holds a number a reader cannot compare (a failed fit is "no value")."""
    if isinstance(node, float):
        return node if math.isfinite(node) else None
    if isinstance(node, dict):
        return {k: finite(v) for k, v in node.items()}
    if isinstance(node, list):
        return [finite(v) for v in node]
    return node


def atomic_write(path: Path, doc: dict) -> None:
    """Temporary file, fsync, rename: a crash or Ctrl-C never leaves half a file."""
    data = json.dumps(finite(doc), indent=1, default=str, allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a results file is for sharing
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
