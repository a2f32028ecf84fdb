"""What each scenario asks of a workload and what it measures.

A scenario knows its arguments, how to drive a running trial (live holds the
plateau while the sampler watches it; http runs the load generator), how to
verify the answer, and how to turn the raw result into metrics. The runner
does the rest the same way for all of them.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from typing import TYPE_CHECKING, Any

from harness.checksum import expected_checksum
from harness.errors import HarnessError, TrialError
from harness.metrics import Metric

if TYPE_CHECKING:
    from harness.runner import TrialProcess


class Scenario:
    name: str = ""
    metrics: tuple[Metric, ...] = ()
    needs_loadgen = False

    def params(self, suite) -> dict[str, Any]:
        return dict(suite[self.name])

    def workload_args(self, params: dict) -> list[str]:
        raise NotImplementedError

    def preflight(self, suite) -> list[str]:
        """Checks of the host before anything is built: raise HarnessError for what
        must change, return warnings for what merely may add noise."""
        return []

    def drive(self, trial: "TrialProcess", params: dict, context: dict) -> dict:
        """Interact with the running workload; return observations for measure()."""
        return {}

    def verify(self, result: dict, params: dict, observations: dict) -> None:
        pass

    def measure(self, result: dict, observations: dict, trial: "TrialProcess", params: dict) -> dict[str, float]:
        raise NotImplementedError


def _check_checksum(result: dict, params: dict) -> None:
    want = expected_checksum(params["tasks"], params["work"])
    if result.get("checksum") != want:
        raise TrialError(f"wrong checksum {result.get('checksum')!r}, expected {want} for "
                         f"tasks={params['tasks']} work={params['work']}: the workload did not do the protocol's work")
    if result.get("tasks") != params["tasks"] or result.get("work") != params["work"]:
        raise TrialError(f"workload ran tasks={result.get('tasks')} work={result.get('work')}, "
                         f"asked for tasks={params['tasks']} work={params['work']}")


class Spawn(Scenario):
    name = "spawn"
    metrics = (
        Metric("tasks_per_sec", "tasks per second", "tasks/s", "higher"),
        Metric("latency_mean_ns", "mean spawn-to-start latency", "ns", "lower"),
        Metric("latency_p99_ns", "p99 spawn-to-start latency", "ns", "lower", headline=False),
        Metric("peak_rss_bytes", "peak RSS", "B", "lower"),
        Metric("total_ns", "time to spawn and finish all", "ns", "lower", headline=False),
    )

    def workload_args(self, params: dict) -> list[str]:
        return ["--tasks", str(params["tasks"]), "--work", str(params["work"])]

    def verify(self, result: dict, params: dict, observations: dict) -> None:
        _check_checksum(result, params)

    def measure(self, result, observations, trial, params):
        lat = result["latency_ns"]
        sampled = trial.sampler.peak_rss()
        return {
            "tasks_per_sec": result["tasks_per_sec"],
            "latency_mean_ns": lat["mean"],
            "latency_p99_ns": lat["p99"],
            # The kernel's high-water mark is exact; the 20 ms samples can miss a
            # short peak, so they are kept as the outside cross-check.
            "peak_rss_bytes": result["peak_rss_bytes"],
            "sampled_peak_rss_bytes": sampled,
            "cgroup_peak_bytes": trial.sampler.cgroup_peak(),  # containers: the memory cgroup's high-water mark
            "total_ns": result["total_ns"],
        }


class Live(Scenario):
    name = "live"
    metrics = (
        Metric("bytes_per_task", "bytes per live task", "B/task", "lower"),
        Metric("time_to_plateau_ns", "time to reach the plateau", "ns", "lower"),
        Metric("plateau_rss_bytes", "RSS at the plateau", "B", "lower", headline=False),
        Metric("release_ns", "time to release all", "ns", "lower", headline=False),
    )

    def workload_args(self, params: dict) -> list[str]:
        return ["--tasks", str(params["tasks"]), "--work", str(params["work"])]

    def drive(self, trial, params, context):
        event = trial.wait_event("plateau")
        t0 = trial.sampler.now()
        trial.hold(params["hold_ms"] / 1000.0)
        t1 = trial.sampler.now()
        window = trial.sampler.between(t0, t1)
        if not window:  # sampler off, or a hold shorter than one interval: read once now
            sample = trial.sample_once()
            window = [sample] if sample else []
        trial.send_line("release")
        if not window:
            raise TrialError("could not read the workload's memory at the plateau (process gone?)")
        return {"plateau_event": event, "plateau_rss_samples": [s.rss for s in window],
                "plateau_cgroup_samples": [s.cgroup for s in window if s.cgroup is not None]}

    def verify(self, result, params, observations):
        _check_checksum(result, params)
        n = params["tasks"]
        if result["alive_max"] != n or result["completed"] != n:
            raise TrialError(f"live did not hold all tasks at once: alive_max={result['alive_max']}, "
                             f"completed={result['completed']}, tasks={n}")

    def measure(self, result, observations, trial, params):
        plateau_rss = statistics.median(observations["plateau_rss_samples"])
        return {
            # RSS read from outside at the plateau, above the program's own
            # baseline taken just before its first spawn.
            "bytes_per_task": (plateau_rss - result["baseline_rss_bytes"]) / params["tasks"],
            "self_bytes_per_task": result["bytes_per_task"],
            "plateau_rss_bytes": plateau_rss,
            "self_plateau_rss_bytes": result["plateau_rss_bytes"],
            "time_to_plateau_ns": result["time_to_plateau_ns"],
            "release_ns": result["release_ns"],
            # containers: the memory cgroup at the plateau (includes page cache and kernel memory)
            "cgroup_plateau_bytes": statistics.median(cg) if (cg := observations["plateau_cgroup_samples"]) else None,
        }


class Http(Scenario):
    """A keep-alive server per runtime, ramped by loadgen to C persistent
    connections at a constant open-loop rate; RSS sampled inside each stage and
    fitted against open connections; then a closed-loop saturation run."""
    name = "http"
    needs_loadgen = True
    metrics = (
        Metric("kib_per_connection", "RSS per connection (fitted slope)", "KiB/conn", "lower"),
        Metric("fit_r2", "R² of the RSS fit", "ratio", "higher", headline=False),
        Metric("latency_p50_ns", "p50 latency at the largest stage", "ns", "lower"),
        Metric("latency_p99_ns", "p99 latency at the largest stage", "ns", "lower"),
        Metric("latency_p999_ns", "p99.9 latency at the largest stage", "ns", "lower"),
        Metric("max_requests_per_sec", "max requests/s (saturate)", "req/s", "higher"),
        Metric("errors", "failed requests + failed connects", "count", "lower", headline=False),
    )

    def workload_args(self, params: dict) -> list[str]:
        return ["--port", "0"]

    def preflight(self, suite) -> list[str]:
        """What the largest stage's keep-alive connections on loopback need; raises the
        soft open-file limit (children inherit it) and says exactly what to change
        when a hard limit is too low. Returns warnings for soft problems."""
        import resource

        from harness import host

        max_connections = suite["http"]["stages"][-1]
        needed = max_connections + 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise HarnessError(f"http with {max_connections} connections needs {needed} open files, the hard limit is "
                               f"{hard}: raise it (as root: ulimit -Hn {needed}; for a service: LimitNOFILE={needed})")
        if soft < needed:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))
        lim = host.limits()
        warnings = []
        try:
            lo, hi = map(int, (lim["ip_local_port_range"] or "").split())
            if hi - lo + 1 < needed:
                raise HarnessError(f"http with {max_connections} connections needs {needed} local ports, "
                                   f"net.ipv4.ip_local_port_range gives {hi - lo + 1}: run "
                                   f"sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"")
        except ValueError:
            warnings.append("could not read net.ipv4.ip_local_port_range")
        try:
            if int(lim["somaxconn"] or 0) < 1024:
                warnings.append(f"net.core.somaxconn is {lim['somaxconn']}: connection bursts may be dropped and retried; "
                                "run sysctl -w net.core.somaxconn=4096")
        except ValueError:
            warnings.append("could not read net.core.somaxconn")
        return warnings

    def drive(self, trial, params, context):
        from harness import http_verify
        from harness.runner import TrialProcess

        ready = trial.wait_event("ready")
        port = ready["port"]
        wrong = http_verify.problems(port)
        if wrong:
            raise TrialError(f"server answer failed verification: {'; '.join(wrong)}")
        baseline = trial.sample_once()
        loadgen = context["loadgen_argv"]
        lg_workers = str(len(context["loadgen_cpus"]))

        @contextlib.contextmanager
        def loadgen_run(what: str, args: list[str], timeout_s: float):
            """A pinned loadgen process; its failures name the phase, and it never outlives the phase."""
            proc = TrialProcess([*loadgen, *args, "--port", str(port), "--workers", lg_workers], env={},
                                cpus=context["loadgen_cpus"], sample_interval_s=0,
                                deadline=time.monotonic() + timeout_s, launcher=context["loadgen_launcher"],
                                validate_result=False)
            try:
                proc.start()
                yield proc
            except TrialError as e:
                raise TrialError(f"loadgen {what}: {e}") from None
            finally:
                proc.stop()

        def saturate(what: str, duration_s: float) -> dict:
            args = ["saturate", "--connections", str(params["saturate_connections"]), "--duration-s", str(duration_s)]
            with loadgen_run(what, args, duration_s + 120) as proc:
                return proc.finish()

        if params["warmup_s"] > 0:  # JIT and caches warm before anything is measured (TechEmpower does the same)
            saturate("warm-up", params["warmup_s"])
        ramp_args = ["ramp", "--stages", ",".join(map(str, params["stages"])), "--rate", str(params["rate_per_s"]),
                     "--stage-duration-s", str(params["stage_duration_s"])]
        stages = []
        with loadgen_run("ramp", ramp_args, len(params["stages"]) * (params["stage_duration_s"] + 60) + 60) as ramp:
            for _ in params["stages"]:
                ramp.wait_event("stage_start")
                t0 = trial.sampler.now()
                end = ramp.wait_event("stage_end")
                t1 = trial.sampler.now()
                window = trial.sampler.between(t0, t1) or [s for s in [trial.sample_once()] if s]
                end["server_rss_bytes"] = statistics.median(s.rss for s in window) if window else None
                end["server_rss_samples"] = len(window)
                cgroup = [s for s in window if s.cgroup is not None]
                end["server_cgroup_bytes"] = statistics.median(s.cgroup for s in cgroup) if cgroup else None
                socks = [s.sock for s in cgroup if s.sock is not None]
                end["server_sock_bytes"] = statistics.median(socks) if socks else None
                stages.append(end)
            ramp_result = ramp.finish()
        saturated = saturate("saturate", params["saturate_duration_s"])
        trial.terminate()  # SIGTERM: the server prints its result and exits 0
        return {"port": port, "baseline_rss_bytes": baseline.rss if baseline else None, "stages": stages,
                "closed_by_server": ramp_result["closed_by_server"], "saturate": saturated}

    def verify(self, result, params, observations):
        closed = observations["closed_by_server"]
        if closed:
            raise TrialError(f"the server closed {closed} keep-alive connection(s) during the ramp: the run is not "
                             "valid (idle timeouts must be off or longer than the test)")
        for st in observations["stages"]:
            if st["connections_open"] < st["connections_target"]:
                raise TrialError(f"stage {st['stage']}: only {st['connections_open']} of {st['connections_target']} "
                                 f"connections opened ({st['connect_failures']} failed)")
            if st["server_rss_bytes"] is None:
                raise TrialError(f"stage {st['stage']}: no RSS sample of the server inside the stage")

    def measure(self, result, observations, trial, params):
        from scipy.stats import linregress

        stages = observations["stages"]
        xs = [st["connections_open"] for st in stages]
        ys = [st["server_rss_bytes"] for st in stages]
        slope = r2 = None
        if len(set(xs)) >= 2:
            fit = linregress(xs, ys)
            slope, r2 = fit.slope, fit.rvalue ** 2
        last = stages[-1]["corrected"]
        sat = observations["saturate"]
        return {
            "kib_per_connection": slope / 1024 if slope is not None else None,
            "fit_r2": r2,
            "latency_p50_ns": last["p50_us"] * 1000,
            "latency_p99_ns": last["p99_us"] * 1000,
            "latency_p999_ns": last["p999_us"] * 1000,
            "max_requests_per_sec": sat["requests_per_sec"],
            "errors": sum(st["requests_failed"] + st["connect_failures"] for st in stages)
                      + sat["requests_failed"] + sat["connect_failures"],
        }


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (Spawn(), Live(), Http())}


def get(name: str) -> Scenario:
    return SCENARIOS[name]
