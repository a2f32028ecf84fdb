"""http: a keep-alive server per runtime, ramped by the load generator to C
persistent connections at a constant open-loop rate; RSS sampled inside each
stage and fitted against open connections; then a closed-loop saturation run.

Every round also measures the instrument itself: the load generator against
its reference responder (`loadgen respond`, on the workload's CPUs) at the
largest stage's connections and rate. That is the floor: the send lag and the
latency that loopback and two lean event loops add by themselves, shown beside
the servers so that a reader sees how much of each percentile is the
instrument. A stage whose achieved rate falls short of its target is marked
overloaded: its latencies were not measured under the same load as the others'."""

from __future__ import annotations

import ipaddress
import math
import resource
import statistics
from typing import TYPE_CHECKING

from harness.errors import HarnessError, TrialError
from harness.record.metrics import Metric
from harness.record.trial import SATURATE_WINDOW, WHOLE_RUN
from harness.record.views import Cell, Figure, Table
from harness.subjects.scenarios import http_answer
from harness.subjects.scenarios.http_load import Load, shares, short_of_rate, split_stages
from harness.subjects.scenarios.scenario import Scenario
from harness.suitekeys import Key, int_key, num_key

if TYPE_CHECKING:
    from harness.record.model import Benchmark

PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]


MAX_CONNECTIONS = 1_000_000
LOOPBACK = "127.0.0.1"
# The load generator's side of one kept-alive connection: its own state and read buffer (643 B of RSS), and
# half the kernel's slab for the pair of sockets (10.2 KiB: tcp_sock, file, dentry, epoll entry), 5.8 KiB in
# all, measured from 1,800 to 18,000 loopback connections (scripts/connection_memory.py), rounded up.
LOADGEN_BYTES_PER_CONNECTION = 8 * 1024


def _stages_key(default: list[int]) -> Key:
    def ok(v: list) -> bool:
        return bool(v) and all(isinstance(x, int) and 1 <= x <= MAX_CONNECTIONS for x in v) and v == sorted(set(v))

    return Key(list, default, ok, f"a strictly increasing list of connection counts in [1, {MAX_CONNECTIONS}]")


def _is_address(text: str) -> bool:
    try:
        return bool(ipaddress.ip_address(text))
    except ValueError:
        return False


def _addresses_key() -> Key:
    def ok(v: list) -> bool:
        try:
            return all(isinstance(x, str) and ipaddress.ip_address(x) for x in v) and len(set(v)) == len(v)
        except ValueError:
            return False

    return Key(list, [], ok, "a list of distinct IP addresses (empty: as many loopback addresses as needed)")


def port_count(port_range: str | None) -> int:
    """Local ports one source address has per destination (the kernel default when unreadable)."""
    try:
        lo, hi = map(int, (port_range or "").split())
        return hi - lo + 1
    except ValueError:
        return 60999 - 32768 + 1


def source_addresses(params: dict, connections: int, ports: int) -> list[str]:
    """Where the load generator connects from: the suite's addresses, or on loopback as many of 127.0.0.x
    as `connections` need at `ports` each (none below one address's ports: the kernel's own choice)."""
    if params.get("source_addresses"):
        return list(params.get("source_addresses", []))
    needed = math.ceil(connections / max(1, ports))
    return [f"127.0.0.{k}" for k in range(1, needed + 1)] if needed > 1 else []


def limit_problems(connections: int, sources: int, os_threads: int, lim: dict) -> tuple[list[str], list[str]]:
    """What this host's limits (host.limits()) refuse for `connections` kept-alive connections from
    `sources` addresses to a server with `os_threads` OS threads per connection: (errors, warnings),
    one line each, with the command that fixes it."""
    errors, warnings = [], []

    def number(key: str) -> int | None:
        try:
            return int(lim.get(key) or "")
        except ValueError:
            return None

    ports = port_count(lim.get("ip_local_port_range"))
    per_source = math.ceil(connections / max(1, sources))
    if per_source > ports:
        errors.append(
            f"http with {connections:,} connections from {sources} source address(es) needs {per_source:,} local "
            f"ports per address, net.ipv4.ip_local_port_range gives {ports:,}: list more http.source_addresses, "
            'or run sysctl -w net.ipv4.ip_local_port_range="1024 65535"'
        )
    somaxconn = number("somaxconn")
    if somaxconn is not None and somaxconn < 1024:
        warnings.append(
            f"net.core.somaxconn is {somaxconn}: connection bursts may be dropped and retried; "
            "run sysctl -w net.core.somaxconn=4096"
        )
    conntrack_max = number("nf_conntrack_max")
    if conntrack_max is not None:  # loaded: every connection is an entry wherever netfilter tracks it
        want = (number("nf_conntrack_count") or 0) + connections + connections // 10
        if want > conntrack_max:
            errors.append(
                f"http with {connections:,} connections needs {want:,} conntrack entries, "
                f"net.netfilter.nf_conntrack_max is {conntrack_max:,}: run sysctl -w net.netfilter.nf_conntrack_max="
                f"{max(262_144, 2 * want)}"
            )
    if os_threads:
        threads = connections * os_threads + 4096
        for key, sysctl, want in (
            ("threads_max", "kernel.threads-max", threads),
            ("pid_max", "kernel.pid_max", threads),  # a thread takes a pid
            ("max_map_count", "vm.max_map_count", 2 * threads),  # a thread's stack and its guard page
        ):
            have = number(key)
            if have is not None and have < want:
                errors.append(
                    f"http with {connections:,} connections to a server with a thread per connection needs "
                    f"{sysctl} of at least {want:,}, it is {have:,}: run sysctl -w {sysctl}={max(want, 2 * have)}"
                )
    return errors, warnings


def cpu_mark(trial) -> tuple:
    """The server's CPU time now: the scheduler's exact account where the harness can read it (this host's
    processes and containers), and the sampler's reading beside it (a remote engine's cgroup)."""
    return trial.cpu_ns(), trial.sample_once()


def cpu_between(before: tuple, after: tuple) -> float | None:
    """The server's CPU seconds (user + system, whole process tree) between two marks. The exact account
    first: the sampler's is counted in clock ticks, and a server that runs in bursts of microseconds is
    charged a tick when one falls on it, which makes a 3-second stage's CPU per request wander by ±10%."""
    (exact0, sample0), (exact1, sample1) = before, after
    if exact0 is not None and exact1 is not None:
        return max(0.0, (exact1 - exact0) / 1e9)
    if sample0 is None or sample1 is None:
        return None
    return max(0.0, sample1.cpu - sample0.cpu)


class Http(Scenario):
    name = "http"
    needs_loadgen = True
    instrument_kind = "floor"  # the load generator against its own responder, every round
    suite_keys = {
        "stages": _stages_key([1000, 2000, 5000, 10000]),
        # where the load generator connects from: each address has the local port range to itself
        "source_addresses": _addresses_key(),
        # where the server (and the floor's responder) listens and the generators connect: loopback, or an
        # address generators on other hosts reach (loadgen.engines)
        "server_address": Key(str, LOOPBACK, _is_address, "an IP address of this host, e.g. 10.0.0.5"),
        "rate_per_s": int_key(1, 10_000_000, 10_000),
        "stage_duration_s": num_key(0.5, 3600, 10),
        "saturate_connections": int_key(1, MAX_CONNECTIONS, 256),
        "saturate_duration_s": num_key(0.5, 3600, 10),  # one window of the closed loop
        # windows in one load generator run, on the same connections: warm-up, then measured
        "saturate_warmup_iterations": int_key(0, 100, 1),
        "saturate_iterations": int_key(1, 100, 3),
        "warmup_s": num_key(0, 3600, 5),  # closed-loop traffic before the ramp, not measured
        # a stage whose achieved rate is more than this far below its target is overloaded
        "overload_tolerance_pct": num_key(0, 100, 5),
        # The load generator sleeps until this long before an intended send, then spins: waking from a sleep
        # takes tens to hundreds of microseconds on a VM, spinning costs CPU (reported as loadgen_busy).
        "spin_us": int_key(0, 10_000_000, 2000),
        # The harness's sampler shares the load generator's CPU on small hosts: each tick it takes delays
        # sends, so the server is sampled less often here (the stages are seconds long; a few samples suffice).
        "sample_interval_ms": num_key(0, 10_000, 250),
        # the load generator's niceness: it shares its CPU with the harness (the sampler), and must win it
        "loadgen_nice": Key(int, -10, lambda v: -20 <= v <= 19, "an integer in [-20, 19]"),
        # a trial whose sends left later than this (p99 at the largest stage) is marked noisy, with the cause
        "lag_threshold_us": num_key(0, 1_000_000, 200),
        # rounds of the work function per request (0: none): a planted server cost, to calibrate the gate
        "work": int_key(0, 1_000_000, 0),
    }
    metrics = (
        Metric("kib_per_connection", "RSS per connection (fitted slope)", "KiB/conn", "lower", steal_free=True),
        Metric("fit_r2", "R² of the RSS fit", "ratio", "higher", headline=False),
        # the server's memory cgroup (page tables, kernel stacks, socket buffers as the kernel charges them):
        # what RSS does not show of a thread per connection (Zig) or of any server's sockets
        Metric(
            "cgroup_kib_per_connection",
            "memory cgroup per connection (fitted slope)",
            "KiB/conn",
            "lower",
            headline=False,
            shown=True,
        ),
        Metric("latency_p50_ns", "p50 latency at the largest stage", "ns", "lower"),
        Metric("latency_p99_ns", "p99 latency at the largest stage", "ns", "lower"),
        Metric("latency_p999_ns", "p99.9 latency at the largest stage", "ns", "lower"),
        Metric("max_requests_per_sec", "max requests/s (saturate, steady)", "req/s", "higher"),
        Metric("cpu_us_per_request", "server CPU per request (saturate)", "µs/req", "lower", steal_free=True),
        Metric(
            "cold_requests_per_sec",
            "requests/s (saturate, first window)",
            "req/s",
            "higher",
            headline=False,
            shown=True,
        ),
        Metric(
            "stage_cpu_us_per_request",
            "server CPU per request at the largest stage",
            "µs/req",
            "lower",
            headline=False,
            steal_free=True,
        ),
        Metric("uncorrected_p50_ns", "p50 latency from the actual send", "ns", "lower", headline=False),
        Metric("send_lag_p50_ns", "load generator send lag p50", "ns", "lower", headline=False),
        Metric("send_lag_p99_ns", "load generator send lag p99", "ns", "lower", headline=False),
        Metric("overloaded_stages", "stages short of their target rate", "count", "lower", headline=False),
        Metric("errors", "failed requests + failed connects", "count", "lower", headline=False),
    )

    def profile_window(self, params: dict) -> str:
        # the server at its ceiling, steady: not its start, the warm-up or the paced ramp
        return SATURATE_WINDOW if params["saturate_duration_s"] > 0 else WHOLE_RUN

    def sampling_interval_ms(self, params: dict, default: float) -> float:
        return params["sample_interval_ms"]

    def memory_units(self, params):
        return params["stages"][-1], "http.stages"

    def learnt_per_unit(self, metrics, params):
        """What the kernel charges per connection where the trial has a memory cgroup (page tables, kernel
        stacks, socket buffers: a thread per connection's cost is there, not in RSS), else RSS's slope."""
        slopes = [s for s in (metrics.get("kib_per_connection"), metrics.get("cgroup_kib_per_connection")) if s]
        return max(slopes) * 1024 if slopes and max(slopes) > 0 else None

    def instrument_bytes_per_unit(self, params: dict) -> float:
        """The load generator's side of each connection, on the same host: its state and the kernel's sockets."""
        return LOADGEN_BYTES_PER_CONNECTION

    def open_files(self, params: dict) -> int:
        """The largest stage's connections, plus the program's own files and sockets."""
        return params["stages"][-1] + 1024

    def floor_argv(self, loadgen_prefix: list[str], workers: int, params: dict) -> list[str]:
        host = params.get("server_address", LOOPBACK)
        return [
            *loadgen_prefix,
            "respond",
            "--port",
            "0",
            "--workers",
            str(workers),
            *(["--host", host] if host != LOOPBACK else []),
        ]

    def workload_env(self, params: dict) -> dict[str, str]:
        """A server that generators on other hosts reach listens on their address (PROTOCOL.md)."""
        host = params.get("server_address", LOOPBACK)
        return {"WORKLOAD_LISTEN": host} if host != LOOPBACK else {}

    def floor_params(self, params: dict) -> dict:
        """The instrument's own run: the largest stage only, no warm-up, no saturation."""
        return {**params, "stages": [params["stages"][-1]], "warmup_s": 0, "saturate_duration_s": 0}

    def params(self, suite) -> dict:
        """As every scenario's, without `work` when it is off and without the default source and server
        addresses: results from before those keys compare."""
        params = super().params(suite)
        if not params.get("work"):
            params.pop("work", None)
        if not params.get("source_addresses"):  # the kernel's choice, as before the key
            params.pop("source_addresses", None)
        if params.get("server_address") == LOOPBACK:
            params.pop("server_address", None)
        return params

    def workload_args(self, params: dict) -> list[str]:
        return ["--port", "0", *(["--work", str(params["work"])] if params.get("work") else [])]

    def preflight(self, suite) -> list[str]:
        """What the largest stage's kept-alive connections need of this host, checked before anything is
        built: open files (the soft limit raised for the children, the hard one too when the harness may),
        local ports per source address, conntrack entries, and threads, pids and mappings for a server with
        a thread per connection. Refuses with every problem, one line each; returns warnings."""
        from harness.measure import host  # the run side: readers of this module never call preflight
        from harness.subject_id import SubjectId
        from harness.subjects import RUNTIMES

        params = suite["http"]
        max_connections = params["stages"][-1]
        needed = self.open_files(params)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        errors = []
        if hard != resource.RLIM_INFINITY and hard < needed:
            try:  # root may raise its hard limit (up to fs.nr_open); children inherit it
                resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
                soft, hard = needed, needed
            except (ValueError, OSError):
                errors.append(
                    f"http with {max_connections:,} connections needs {needed:,} open files, the hard limit is "
                    f"{hard:,}: raise it (as root: ulimit -Hn {needed}; for a service: LimitNOFILE={needed})"
                )
        if soft < needed and (hard == resource.RLIM_INFINITY or hard >= needed):
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        lim = host.limits()
        sources = len(source_addresses(params, max_connections, port_count(lim["ip_local_port_range"]))) or 1
        threads = max(
            (
                RUNTIMES[r].os_threads_per_connection
                for s in suite.subjects_for(self.name)
                if (r := SubjectId.parse(s).runtime) in RUNTIMES
            ),
            default=0,
        )
        problems, warnings = limit_problems(max_connections, sources, threads, lim)
        if errors or problems:
            raise HarnessError("; ".join([*errors, *problems]))
        return warnings

    def drive(self, trial, params, context):
        trial.phase("starting the server")
        ready = trial.wait_event("ready")
        port = ready["port"]
        trial.phase("verifying its answer")
        gens = context.generators
        names = [g.where or "local" for g in gens]  # the engine's address: unique, where host names may not be
        tolerance = params["overload_tolerance_pct"] / 100
        baseline = trial.sample_once()
        from harness.measure import host  # the run side

        # one generator beside the harness connects from as many loopback addresses as its connections need;
        # generators on other hosts from their own address (or the suite's, when it names them)
        ports = port_count(host.limits()["ip_local_port_range"])
        most = max(params["stages"][-1], params["saturate_connections"] if params["saturate_duration_s"] else 0)
        local = len(gens) == 1 and not gens[0].where
        sources = source_addresses(params, most, ports) if local else list(params.get("source_addresses", []))
        server = ["--host", params.get("server_address", LOOPBACK), "--port", str(port)]
        target = [*server, *(["--sources", ",".join(sources)] if sources else [])]

        def workers(i: int) -> list[str]:
            return ["--workers", str(len(gens[i].cpus))]

        # The answer is checked from where the load comes from: every generator's own machine.
        load = Load(gens, names, tolerance)
        with load.run("verify", lambda i: ["verify", *server], 60, together=False):
            for verified in load.finish_all("verify"):
                wrong = http_answer.check_verify_result(verified)
                if wrong:
                    raise TrialError(f"server answer failed verification: {'; '.join(wrong)}")

        def saturate(what: str, duration_s: float, warmup: int = 0, measured: int = 1, profile: bool = False) -> dict:
            """Closed loop in windows of duration_s on the same connections; the server's
            CPU time is read as each window ends, for its CPU cost per request. `profile`:
            a profiled trial's profile covers these measured windows alone."""
            split = shares(params["saturate_connections"], len(gens))
            windows = ["--duration-s", str(duration_s), "--iterations", str(measured)]
            with load.run(
                what,
                lambda i: [
                    "saturate",
                    *workers(i),
                    "--connections",
                    str(split[i]),
                    *windows,
                    "--warmup-iterations",
                    str(warmup),
                    *target,
                ],
                (warmup + measured) * duration_s + 120,
            ):
                if load.several:
                    load.wait_all("connected", what)
                    load.start(0, what)
                marks = [cpu_mark(trial)]
                for k in range(warmup + measured):
                    if profile and k == warmup:
                        trial.profile_window("start")
                    trial.phase(f"{what}: window {k + 1}/{warmup + measured}")
                    load.wait_all("iteration_end", f"{what} window {k + 1}")
                    marks.append(cpu_mark(trial))
                if profile:
                    trial.profile_window("stop")
                result = load.merged(load.finish_all(what))
            for it, before, after in zip(result["iterations"], marks, marks[1:], strict=False):
                it["server_cpu_s"] = cpu_between(before, after)
            return result

        if params["warmup_s"] > 0:  # JIT and caches warm before anything is measured (TechEmpower does the same)
            saturate("warm-up", params["warmup_s"])
        per_generator = split_stages(params["stages"], len(gens))
        rates = [params["rate_per_s"] / len(gens)] * len(gens)

        def ramp_args(i: int) -> list[str]:
            return [
                "ramp",
                *workers(i),
                "--stages",
                ",".join(map(str, per_generator[i])),
                "--rate",
                str(rates[i]),
                "--stage-duration-s",
                str(params["stage_duration_s"]),
                "--spin-us",
                str(params["spin_us"]),
                "--nice",
                str(params["loadgen_nice"]),
                *(["--seed", str(i + 1)] if load.several else []),  # phases of their own
                *target,
            ]

        stages = []
        n = len(params["stages"])
        # a stage may run over by its own length (late sends of an overloaded server), plus connecting
        with load.run("ramp", ramp_args, n * (2 * params["stage_duration_s"] + 60) + 60):
            for k, conns in enumerate(params["stages"]):
                where = f"stage {k + 1}/{n} ({conns:,} connections)"
                trial.phase(f"stage {k + 1}/{n}: opening {conns:,} connections")
                load.wait_all("stage_start", where)
                load.start(k, where)
                trial.phase(f"stage {k + 1}/{n}: {conns:,} connections at {params['rate_per_s']:,} req/s")
                t0, first = trial.sampler.now(), cpu_mark(trial)
                end = load.merged(load.wait_all("stage_end", where))
                t1, last = trial.sampler.now(), cpu_mark(trial)
                end["server_cpu_s"] = cpu_between(first, last)
                window = trial.sampler.between(t0, t1) or [s for s in [trial.sample_once()] if s]
                end["server_rss_bytes"] = statistics.median(s.rss for s in window) if window else None
                end["server_rss_samples"] = len(window)
                cgroup = [s for s in window if s.cgroup is not None]
                end["server_cgroup_bytes"] = statistics.median(s.cgroup for s in cgroup) if cgroup else None
                socks = [s.sock for s in cgroup if s.sock is not None]
                end["server_sock_bytes"] = statistics.median(socks) if socks else None
                behind = [g["generator"] for g in end.get("generators", []) if g["behind"]]
                end["overloaded"] = short_of_rate(end, tolerance) or bool(behind)
                if behind:
                    end["behind"] = behind  # the generators short of their share: the stage was not at its load
                stages.append(end)
                trial.phase(
                    f"stage {k + 1}/{n}: achieved {end['achieved_rate']:,.0f} req/s"
                    + (" — OVERLOADED" if end["overloaded"] else "")
                    + (f" (behind: {', '.join(behind)})" if behind else "")
                )
            closed = sum(r["closed_by_server"] for r in load.finish_all("ramp"))
        saturated = (
            saturate(
                "saturate",
                params["saturate_duration_s"],
                params["saturate_warmup_iterations"],
                params["saturate_iterations"],
                profile=True,
            )
            if params["saturate_duration_s"] > 0
            else None
        )
        trial.phase("stopping the server")
        trial.terminate()  # SIGTERM: the server prints its result and exits 0
        return {
            "port": port,
            "baseline_rss_bytes": baseline.rss if baseline else None,
            "stages": stages,
            "closed_by_server": closed,
            "saturate": saturated,
            "source_addresses": sources,
            "generators": [
                {"generator": name, "host": g.host or "this host", "cpus": len(g.cpus)}
                for name, g in zip(names, gens, strict=True)
            ],
        }

    def noise(self, record, params: dict) -> list[str]:
        """The instrument itself late: its send lag p99 at the largest stage above the threshold."""
        lag = record.metrics.get("send_lag_p99_ns")
        limit = params.get("lag_threshold_us", 200)
        if lag is None or lag <= limit * 1000:
            return []
        harness = record.harness_cpu_s
        return [
            f"the load generator sent late: send lag p99 {lag / 1000:,.0f} µs at the largest stage (above "
            f"{limit:g} µs)" + (f"; the harness took {1000 * harness:,.0f} ms of CPU meanwhile" if harness else "")
        ]

    def incomparable(self, observations: dict) -> dict | None:
        last = observations["stages"][-1]
        if not last.get("overloaded"):
            return None
        unsent = last.get("requests_unsent", 0)
        shed = sum(st["closed_by_server"] for st in observations["stages"])
        metrics = ["latency_p50_ns", "latency_p99_ns", "latency_p999_ns", "uncorrected_p50_ns"]
        if shed:
            metrics.append("kib_per_connection")  # fitted over fewer connections than asked
        return {
            "metrics": metrics,
            "reason": f"overloaded: {last['achieved_rate']:,.0f} of {last['target_rate']:,.0f} req/s at "
            f"{last['connections_target']:,} connections"
            + (f", {unsent:,} sends abandoned" if unsent else "")
            + (f", {shed:,} connections closed by the server" if shed else ""),
        }

    def verify(self, result, params, observations):
        super().verify(result, params, observations)
        closed = observations["closed_by_server"]
        # A server that cannot take the load may shed connections (an emulated JVM at 4% of the target
        # rate did): that is part of its overload, reported as such. Closing connections in a stage it
        # kept up with means idle timeouts, which would make the run unfair.
        shed = sum(st["closed_by_server"] for st in observations["stages"] if st.get("overloaded"))
        if closed > shed:
            raise TrialError(
                f"the server closed {closed - shed} keep-alive connection(s) during the ramp: the run is not valid "
                "(idle timeouts must be off or longer than the test)"
            )
        for st in observations["stages"]:
            if st["connections_open"] < st["connections_target"] and not st.get("overloaded"):
                raise TrialError(
                    f"stage {st['stage']}: only {st['connections_open']} of {st['connections_target']} connections "
                    f"opened ({st['connect_failures']} failed)"
                )
            if st["server_rss_bytes"] is None:
                raise TrialError(f"stage {st['stage']}: no RSS sample of the server inside the stage")

    def rounds(self, result, observations, params):
        windows = [w for w in ((observations.get("saturate") or {}).get("iterations") or []) if not w["warmup"]]
        return {
            "max_requests_per_sec": [w["requests_per_sec"] for w in windows],
            "cpu_us_per_request": [
                1e6 * w["server_cpu_s"] / w["requests_ok"]
                for w in windows
                if w.get("server_cpu_s") is not None and w["requests_ok"]
            ],
            "seconds": [params["saturate_duration_s"] for _ in windows],  # what a window costs
        }

    def measure(self, result, observations, trial, params):
        stages = observations["stages"]
        xs = [st["connections_open"] for st in stages]
        rss_fit = _fit(xs, [st["server_rss_bytes"] for st in stages])
        charged = [st.get("server_cgroup_bytes") for st in stages]  # None where the trial has no memory cgroup
        cgroup_fit = _fit(xs, charged) if None not in charged else None
        last = stages[-1]
        sat = observations["saturate"] or {"requests_per_sec": None, "requests_failed": 0, "connect_failures": 0}
        windows = sat.get("iterations") or []
        steady = [w for w in windows if not w["warmup"]]
        per_request = [
            1e6 * w["server_cpu_s"] / w["requests_ok"]
            for w in steady
            if w.get("server_cpu_s") is not None and w["requests_ok"]
        ]
        stage_cpu = last.get("server_cpu_s")
        return {
            "cpu_us_per_request": statistics.median(per_request) if per_request else None,
            "cold_requests_per_sec": windows[0]["requests_per_sec"] if windows else None,
            "stage_cpu_us_per_request": 1e6 * stage_cpu / last["requests_ok"]
            if stage_cpu is not None and last["requests_ok"]
            else None,
            "kib_per_connection": rss_fit[0] / 1024 if rss_fit else None,
            "fit_r2": rss_fit[1] if rss_fit else None,
            "cgroup_kib_per_connection": cgroup_fit[0] / 1024 if cgroup_fit else None,
            "latency_p50_ns": last["corrected"]["p50_us"] * 1000,
            "latency_p99_ns": last["corrected"]["p99_us"] * 1000,
            "latency_p999_ns": last["corrected"]["p999_us"] * 1000,
            "max_requests_per_sec": statistics.median(w["requests_per_sec"] for w in steady)
            if steady
            else sat["requests_per_sec"],
            "uncorrected_p50_ns": last["uncorrected"]["p50_us"] * 1000,
            "send_lag_p50_ns": last["lag"]["p50_us"] * 1000,
            "send_lag_p99_ns": last["lag"]["p99_us"] * 1000,
            "overloaded_stages": sum(1 for st in stages if st["overloaded"]),
            "errors": sum(st["requests_failed"] + st["connect_failures"] for st in stages)
            + sat["requests_failed"]
            + sat["connect_failures"],
        }

    # --- what readers show beside the comparison table ---------------------------------

    def tables(self, benches: list[Benchmark], floor: Benchmark | None) -> list[Table]:
        """Per ramp stage and runtime (and the floor at the largest stage): the medians over
        measured trials of corrected p50 / p99 / p99.9, the achieved rate, the send lag p99,
        connections the server closed (must be 0), OVERLOADED where the rate fell short."""
        benches = [b for b in benches if not b.point]
        if not benches:
            return []
        stages = benches[0].params.get("stages", [])
        subjects = [*benches, *([floor] if floor else [])]
        table = Table(
            "http per stage (corrected latency p50 / p99 / p99.9; achieved req/s; send lag p99; closed by server)",
            ["connections", *[b.runtime for b in benches], *(["floor"] if floor else [])],
            caption="Corrected latency p50 / p99 / p99.9 (from the intended send time), median over measured "
            "trials; achieved request rate; the load generator's send lag p99; connections the server closed.",
            anchor="http-stages",
            muted_columns=frozenset({len(benches)}) if floor else frozenset(),
        )
        for k, conns in enumerate(stages):
            cells: list[Cell | None] = []
            for b in subjects:
                if b is floor:  # the instrument runs the largest stage only
                    recs = [t.observations["stages"][-1] for t in b.measured] if k == len(stages) - 1 else []
                else:
                    recs = [st[k] for t in b.measured if len(st := t.observations.get("stages", [])) > k]
                cells.append(_stage_cell(recs, muted=b is floor))
            table.rows.append((f"{conns:,}", cells))
        return [table, *_memory_table(benches, stages)]

    def figures(self, benches: list[Benchmark], floor: Benchmark | None) -> list[Figure]:
        benches = [b for b in benches if not b.point]
        out = []
        fit: dict[str, tuple[list[float], list[float]]] = {}
        for b in benches:
            xs, ys = [], []
            for t in b.measured:
                for st in t.observations.get("stages", []):
                    if st.get("server_rss_bytes"):
                        xs.append(st["connections_open"])
                        ys.append(st["server_rss_bytes"] / 2**20)
            if len(set(xs)) >= 2:
                fit[b.runtime] = (xs, ys)
        if fit:
            out.append(Figure("http: RSS against connections", "fit", fit, "open connections", "RSS (MiB)"))
        spectrum: dict[str, list[tuple[float, float]]] = {}
        for b in [*benches, *([floor] if floor else [])]:
            for which in ("corrected", "uncorrected"):
                values = _merged_percentiles(b, which)
                if values:
                    spectrum[f"{b.runtime} ({which})"] = values
        if spectrum:
            out.append(
                Figure("http: latency by percentile (grey: the floor)", "percentiles", spectrum, "percentile", "ms")
            )
        sweep = len(benches[0].params.get("stages", [])) >= SWEEP_STAGES if benches else False
        if sweep:  # how memory per connection grows: is it linear, where does it bend
            per_connection = {
                b.runtime: _stage_series(b, by_key("kib_per_connection"), memory_by_stage) for b in benches
            }
            residual = {b.runtime: _stage_series(b, by_key("residual_bytes"), memory_by_stage) for b in benches}
            out += [
                Figure(
                    "http: RSS above the idle server per connection, by connections (log axis; bands: range of trials)",
                    "bands",
                    {k: v for k, v in per_connection.items() if v},
                    "open connections",
                    unit="KiB/conn",
                    log_x=True,
                ),
                Figure(
                    "http: residuals of the linear RSS fit, by connections (0: on the line; a trend: it bends)",
                    "bands",
                    {k: v for k, v in residual.items() if v},
                    "open connections",
                    unit="B",
                    better="",  # a residual is neither good nor bad: its trend is the finding
                    log_x=True,
                ),
            ]
        if benches and len(benches[0].params.get("stages", [])) > 1:
            p99 = {
                b.runtime: _stage_series(b, lambda st: (st.get("corrected") or {}).get("p99_us", 0) * 1000 or None)
                for b in [*benches, *([floor] if floor else [])]
            }
            if any(p99.values()):
                out.append(
                    Figure(
                        "http: p99 latency against open connections (bands: range of trials; floor: the instrument "
                        "alone, at the stages it ran)",
                        "bands",
                        {k: v for k, v in p99.items() if v},
                        "open connections",
                        unit="ns",
                        log_x=sweep,
                    )
                )
        return out


SWEEP_STAGES = 5  # a ramp of this many stages is a sweep: its memory is shown stage by stage, on a log axis


def memory_by_stage(observations: dict) -> list[dict]:
    """One trial's memory at each stage: RSS above the idle server per connection, the marginal cost of the
    stage's new connections, the residual of the trial's linear fit (RSS against connections) and the memory
    cgroup's marginal cost where there is one."""
    stages = [st for st in observations.get("stages", []) if st.get("server_rss_bytes")]
    base = observations.get("baseline_rss_bytes")
    xs = [st["connections_open"] for st in stages]
    ys = [st["server_rss_bytes"] for st in stages]
    if len(set(xs)) < 2 or not all(xs):
        return []
    from scipy.stats import linregress

    fit = linregress(xs, ys)
    out = []
    for k, st in enumerate(stages):
        row = {
            "connections_target": st["connections_target"],
            "residual_bytes": ys[k] - (fit.intercept + fit.slope * xs[k]),
            "kib_per_connection": (ys[k] - base) / xs[k] / 1024 if base else None,
        }
        if k and xs[k] > xs[k - 1]:
            row["marginal_kib"] = (ys[k] - ys[k - 1]) / (xs[k] - xs[k - 1]) / 1024
            c0, c1 = stages[k - 1].get("server_cgroup_bytes"), st.get("server_cgroup_bytes")
            if c0 is not None and c1 is not None:
                row["cgroup_marginal_kib"] = (c1 - c0) / (xs[k] - xs[k - 1]) / 1024
        out.append(row)
    return out


def _memory_table(benches: list[Benchmark], stages: list[int]) -> list[Table]:
    """A sweep's memory stage by stage: per connection above the idle server, the marginal cost of each
    stage's new connections (RSS, and the memory cgroup's where measured) and the linear fit's residual."""
    if len(stages) < SWEEP_STAGES:
        return []
    table = Table(
        "http memory per connection by stage (RSS above the idle server / connections; marginal: the stage's "
        "new connections; residual of the linear fit)",
        ["connections", *[b.runtime for b in benches]],
        caption="Medians over measured trials. Marginal KiB/conn is (RSS − RSS of the stage before) / (connections "
        "− connections before); cgroup: the same from the server's memory cgroup (kernel stacks, page tables, "
        "socket buffers). A residual trending with connections means the cost per connection is not constant.",
        anchor="http-memory-stages",
    )
    per_trial = {b.runtime: [memory_by_stage(t.observations) for t in b.measured] for b in benches}
    for k, conns in enumerate(stages):
        cells: list[Cell | None] = []
        for b in benches:
            rows = [r[k] for r in per_trial[b.runtime] if len(r) > k]
            if not rows:
                cells.append(None)
                continue

            def med(key: str, rows=rows) -> float | None:
                vals = [r[key] for r in rows if r.get(key) is not None]
                return statistics.median(vals) if vals else None

            avg, marginal, cgroup, resid = (
                med(x) for x in ("kib_per_connection", "marginal_kib", "cgroup_marginal_kib", "residual_bytes")
            )
            cells.append(
                Cell(
                    f"{avg:.2f} KiB/conn" if avg is not None else "–",
                    ", ".join(
                        x
                        for x in (
                            f"marginal {marginal:.2f}" if marginal is not None else "",
                            f"cgroup {cgroup:.2f}" if cgroup is not None else "",
                            f"residual {resid / 2**20:+.2f} MiB" if resid is not None else "",
                        )
                        if x
                    ),
                )
            )
        table.rows.append((f"{conns:,}", cells))
    return [table]


def _stage_cell(recs: list[dict], muted: bool = False) -> Cell | None:
    if not recs:
        return None

    def med(key: str, sub: str | None = None) -> float:
        return statistics.median((r.get(sub, {}).get(key, 0) if sub else r.get(key, 0)) for r in recs)

    def ms(us: float) -> str:
        return f"{us / 1000:.2f}" if us < 10_000 else f"{us / 1000:.0f}"

    overloaded = sum(1 for r in recs if r.get("overloaded"))
    return Cell(
        f"{ms(med('p50_us', 'corrected'))} / {ms(med('p99_us', 'corrected'))} / {ms(med('p999_us', 'corrected'))} ms",
        f"{med('achieved_rate'):,.0f}/s, lag p99 {med('p99_us', 'lag'):,.0f} µs, "
        f"closed {sum(r.get('closed_by_server', 0) for r in recs)}",
        flag=f"OVERLOADED ({overloaded}/{len(recs)})" if overloaded else "",
        muted=muted,
    )


def _merged_percentiles(b: Benchmark, which: str) -> list[tuple[float, float]]:
    """The largest stage's latency by percentile over every measured trial (their HdrHistograms merged)."""
    from hdrh.histogram import HdrHistogram

    merged = None
    for t in b.measured:
        stages = t.observations.get("stages", [])
        if not stages or not stages[-1].get(which, {}).get("hdr"):
            continue
        try:
            h = HdrHistogram.decode(stages[-1][which]["hdr"])
        except Exception:  # a damaged encoding draws nothing rather than stopping the report
            continue
        if merged is None:
            merged = HdrHistogram(1, 3_600_000_000, 3)
        merged.add(h)
    if merged is None or merged.get_total_count() == 0:
        return []
    return [(p, merged.get_value_at_percentile(p) * 1000.0) for p in PERCENTILES]


def by_key(key: str):
    """A pick for _stage_series: one value of a stage's row, None where it has none."""
    return lambda row: row.get(key)


def _stage_series(
    b: Benchmark, pick, rows_of=lambda obs: obs.get("stages", [])
) -> list[tuple[float, float, float, float]]:
    """A value of each ramp stage (pick(row) -> value) against its connections: median and range over trials.
    `rows_of(observations)`: a trial's rows per stage (its stage records, or memory_by_stage's)."""
    by_conns: dict[float, list[float]] = {}
    for t in b.measured:
        for st in rows_of(t.observations):
            v = pick(st)
            if v is not None:
                by_conns.setdefault(st["connections_target"], []).append(v)
    return [(x, statistics.median(v), min(v), max(v)) for x, v in sorted(by_conns.items())]


def _fit(xs: list, ys: list) -> tuple[float, float] | None:
    """Bytes per connection fitted over the stages (slope, R²); None with fewer than two sizes."""
    from scipy.stats import linregress

    if len(set(xs)) < 2:
        return None
    fit = linregress(xs, ys)
    return fit.slope, fit.rvalue**2
