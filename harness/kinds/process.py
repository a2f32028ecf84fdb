"""The process kind: the subject's workload program, once, pinned and sampled, driven by its scenario."""

from __future__ import annotations

from harness.kinds.base import TrialKind, TrialRequest
from harness.measure import memory
from harness.measure.trial import ProfileRequest, TrialSpec, run_trial
from harness.record.trial import WHOLE_RUN, TrialRecord


class ProcessTrial(TrialKind):
    """The subject's workload program, once, driven by its scenario."""

    name = "process"
    profiles = True

    def argv(self, subject, scenario, params, workers):
        return subject.argv([scenario.program, *scenario.workload_args(params)], workers, scenario.name)

    def refusal(self, req: TrialRequest) -> str:
        """Its estimate, learnt from this benchmark's trials so far, does not fit in the memory available now."""
        if not req.memory_guard:
            return ""
        learnt = [v for t in req.earlier if t.ok and (v := req.scenario.learnt_per_unit(t.metrics, req.params))]
        need = memory.need(req.scenario, req.subject.runtime, req.params, learnt)
        available = memory.available_bytes(req.subject.launcher.memory_limit_bytes)
        if need is None or need.fits(available):
            return ""
        name, scenario = req.subject.runtime.name, req.scenario.name
        return f"not run: {need.describe(name, scenario, available)} (use {need.advice(available)}, or --force)"

    def run(self, req: TrialRequest) -> TrialRecord:
        profile = None
        if req.profile_dir is not None:
            window = req.scenario.profile_window(req.params)
            profile = ProfileRequest(req.profile_dir, window, window != WHOLE_RUN, req.subject.runtime.profile_reader)
        settings = req.subject.run_settings(req.scenario.name)
        env = {**req.scenario.workload_env(req.params), **settings.get("env", {})}
        if settings.get("layout") == "per-round":  # ASLR is off: the environment's size moves the stack
            env[LAYOUT_PAD] = "x" * layout_pad(req.round)
        record = run_trial(
            TrialSpec(
                req.benchmark_id,
                self.argv(req.subject, req.scenario, req.params, req.workers),
                env,
                req.cpus,
                req.scenario,
                req.params,
                req.scenario.sampling_interval_ms(req.params, req.sampling_interval_ms),
                req.series_points,
                req.timeout_s,
                req.subject.launcher,
                req.instruments,
                req.observer,
                profile,
            )
        )
        if settings.get("layout", "default") != "default":
            record.observations["layout"] = {"aslr": False, "pad_bytes": len(env.get(LAYOUT_PAD, ""))}
        return record


LAYOUT_PAD = "CBH_LAYOUT_PAD"


def layout_pad(rnd: int) -> int:
    """Bytes of environment padding in a round: a multiple of 16 (the stack's alignment) below a page,
    different from one round to the next, the same for every subject and side of a round."""
    return 16 * ((rnd * 97) % 256)
