"""The floor kind: the scenario's instrument against its reference, where the subjects run."""

from __future__ import annotations

from harness.kinds.base import TrialKind, TrialRequest
from harness.measure.trial import TrialSpec, run_trial
from harness.record.trial import TrialRecord


class FloorTrial(TrialKind):
    """The scenario's instrument against its reference, where the subjects run: what the instrument
    adds by itself, measured every round beside them (the subject is the load generator)."""

    name = "floor"

    def argv(self, subject, scenario, params, workers):
        prefix = subject.runtime.launch(subject.built.artifact_dir, 0, {}, None)
        return scenario.floor_argv(prefix, workers, params)

    def run(self, req: TrialRequest) -> TrialRecord:
        params = req.scenario.floor_params(req.params)
        return run_trial(
            TrialSpec(
                req.benchmark_id,
                self.argv(req.subject, req.scenario, params, req.workers),
                {},
                req.cpus,
                req.scenario,
                params,
                req.scenario.sampling_interval_ms(params, req.sampling_interval_ms),
                req.series_points,
                req.timeout_s,
                req.subject.launcher,
                req.instruments,
                req.observer,
            )
        )
