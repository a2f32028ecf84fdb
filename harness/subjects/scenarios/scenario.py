"""What a scenario is: its suite section, its metrics (each with unit,
direction and one headline flag), the kind of trial that measures it (a
workload process, a build: harness.kinds) and its instrument's kind if
it measures one, and, for a process, the workload's arguments, how to drive a
running trial, how to verify the answer and how to turn it into metrics; what
it needs of the host (open files), and the extra tables and figures its readers
show. The runner and the readers do the rest the same way for all of them, so a
new scenario is one module (see spawn.py) plus the workloads.

This module and the scenario modules import nothing of the run side
(harness.measure): readers import them for their tables and figures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.errors import TrialError
from harness.record.metrics import Metric
from harness.record.trial import WHOLE_RUN, TrialRecord
from harness.record.views import Figure, Table
from harness.subjects.scenarios import protocol
from harness.subjects.scenarios.checksum import expected_checksum
from harness.suitekeys import ROUND_KEYS, Key

if TYPE_CHECKING:
    from harness.measure.trial import TrialProcess
    from harness.record.model import Benchmark


class Scenario:
    name: str = ""
    subcommand: str = ""  # the workload's subcommand (default: the scenario's name)
    metrics: tuple[Metric, ...] = ()
    suite_keys: dict[str, Key] = {}
    # how one trial runs (harness.kinds): "process" (the subject's workload program, driven by
    # the hooks below) or "build" (the subject's build, timed); and its instrument's, measured every round
    # beside the subjects ("floor": floor_argv and floor_params), or None where it has none
    trial_kind = "process"
    instrument_kind: str | None = None
    needs_loadgen = False
    needs_local_engine = False  # measured from the harness's own machine (not through a remote engine)
    needs_native = False  # runs on this host only (the build scenario times the host's toolchains)
    plots_rss_over_time = False  # its readers draw every trial's RSS against time
    notes: tuple[str, ...] = ()  # said under its table: differences that are the runtimes' own, measured not hidden

    @property
    def program(self) -> str:
        return self.subcommand or self.name

    @property
    def has_floor(self) -> bool:
        return self.instrument_kind is not None

    def params(self, suite) -> dict[str, Any]:
        """What the workload is asked to do (its trial counts are the session's business, not the benchmark's)."""
        return {k: v for k, v in suite[self.name].items() if k not in ROUND_KEYS}

    def workload_args(self, params: dict) -> list[str]:
        return []

    def workload_env(self, params: dict) -> dict[str, str]:
        """Environment the workload needs for these parameters (PROTOCOL.md's WORKLOAD_* variables)."""
        return {}

    def profile_window(self, params: dict) -> str:
        """What a profiled trial's profile covers: the whole run, or a window of it that
        the scenario's drive opens and closes ("profile start"/"profile stop" on the workload's stdin)."""
        return WHOLE_RUN

    def sampling_interval_ms(self, params: dict, default: float) -> float:
        """How often the sampler reads the workload in this scenario (the suite's sampling.interval_ms)."""
        return default

    def open_files(self, params: dict) -> int:
        """The open-files limit a workload of this scenario needs (the docker backend sets it per container)."""
        return 0

    def floor_argv(self, loadgen_prefix: list[str], workers: int, params: dict) -> list[str]:
        """The instrument's reference run for this scenario (instrument_kind), measured every round beside the
        runtimes."""
        return []

    def floor_params(self, params: dict) -> dict:
        return params

    def preflight(self, suite) -> list[str]:
        """Checks of the host before anything is built: raise HarnessError for what
        must change, return warnings for what merely may add noise."""
        return []

    def drive(self, trial: TrialProcess, params: dict, context: Any) -> dict:
        """Interact with the running workload; return observations for measure().
        Keys that start with "_" are for measure() only and stay out of the results file.
        `context` holds the session's instruments (the load generator, for http)."""
        return {}

    def verify(self, result: dict, params: dict, observations: dict) -> None:
        """Refuse a result that breaks the protocol or did not do the work (TrialError)."""
        protocol.check_result(result)

    def measure(self, result: dict, observations: dict, trial: TrialProcess, params: dict) -> dict[str, Any]:
        """A process trial's metrics from the program's result line and the drive's observations."""
        return {}

    def rounds(self, result: dict, observations: dict, params: dict) -> dict[str, list[float]]:
        """Per headline metric measured several times inside one process (spawn's rounds, http's
        saturate windows): every value, so that readers see the variance at both levels; and under
        "seconds" what each round took (what the precision planner weighs a round at)."""
        return {}

    def noise(self, record: TrialRecord, params: dict) -> list[str]:
        """Causes for which this trial's measurement is noisy beyond steal and CPU sharing (the
        scenario's own instrument misbehaving): said, and the trial marked as steal marks it."""
        return []

    def memory_units(self, params: dict) -> tuple[int, str] | None:
        """The size that decides this scenario's memory (N tasks, C connections) and the suite key of it."""
        return None

    def learnt_per_unit(self, metrics: dict, params: dict) -> float | None:
        """Bytes per unit one finished trial shows (its own peak or plateau over its size)."""
        return None

    def instrument_bytes_per_unit(self, params: dict) -> float:
        """Bytes per unit the instrument beside the subject needs on the same host (a load generator's
        connections and their kernel sockets): what the memory guard adds to the subject's own."""
        return 0.0

    def incomparable(self, observations: dict) -> dict | None:
        """Metrics of this trial that were not measured under the conditions the
        suite asked for (e.g. a server that could not take the load): {"metrics":
        [keys], "reason": "..."}. Readers never star or gate them as if they were."""
        return None

    # --- what readers show beside the comparison table (from the results file alone) ---

    def tables(self, benches: list[Benchmark], floor: Benchmark | None) -> list[Table]:
        """Tables of this scenario's own details (e.g. http per ramp stage)."""
        return []

    def figures(self, benches: list[Benchmark], floor: Benchmark | None) -> list[Figure]:
        """Figures of this scenario's own details; RSS over time where the scenario asks for it."""
        if not self.plots_rss_over_time:
            return []
        series = {b.runtime: [t.rss_series for t in b.measured if t.rss_series] for b in benches}
        if not any(series.values()):
            return []
        return [
            Figure(
                f"{self.name}: RSS over time (faint: every trial, bold: median)",
                "rss_over_time",
                {k: v for k, v in series.items() if v},
                xlabel="seconds since start",
                ylabel="RSS (MiB)",
            )
        ]


def exit_cpu_s(trial: TrialProcess) -> float | None:
    """User + system CPU seconds of the whole program, from the kernel at its exit."""
    cpu = trial.exit_cpu or {}
    return cpu["user_s"] + cpu["system_s"] if cpu.get("user_s") is not None else None


def check_checksum(result: dict, params: dict) -> None:
    want = expected_checksum(params["tasks"], params["work"])
    if result.get("checksum") != want:
        raise TrialError(
            f"wrong checksum {result.get('checksum')!r}, expected {want} for tasks={params['tasks']} "
            f"work={params['work']}: the workload did not do the protocol's work"
        )
    if result.get("tasks") != params["tasks"] or result.get("work") != params["work"]:
        raise TrialError(
            f"workload ran tasks={result.get('tasks')} work={result.get('work')}, "
            f"asked for tasks={params['tasks']} work={params['work']}"
        )
