"""The build kind: the subject's real build commands, timed (the build scenario)."""

from __future__ import annotations

from harness.kinds.base import TrialKind, TrialRequest
from harness.measure.build import build_trial
from harness.measure.host import host_load, read_proc_stat
from harness.paths import ROOT
from harness.record.trial import TrialRecord

BUILD_SCRATCH = ROOT / "build" / "scratch"  # the build kind's copies of the sources


class BuildTrial(TrialKind):
    """The subject's build, timed: clean (a fresh copy, empty caches) and/or incremental (one line
    changed in a warm copy), as the scenario's `clean` and `incremental` ask; and the bytes it made."""

    name = "build"
    repeatable = False  # a build's noise is its own: the next build of the same copy is another trial

    def run(self, req: TrialRequest) -> TrialRecord:
        p = req.subject
        if req.observer is not None:
            req.observer.phase("building (clean, then one line changed)")
        scratch = BUILD_SCRATCH / f"{p.runtime.name}-{p.built.to_json().get('cache_key', 'x')}"
        before = read_proc_stat()
        record = build_trial(
            p.runtime, p.toolchain, req.cpus, scratch, req.params["clean"], req.params["incremental"], req.timeout_s
        )
        record.host_load = host_load(before, read_proc_stat(), req.cpus)
        if record.ok:
            fp = record.footprint or {}
            record.metrics.update(program_bytes=fp.get("program_bytes"), total_bytes=fp.get("total_bytes"))
        return record
