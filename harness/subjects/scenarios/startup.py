"""startup: how long each runtime's http server takes from exec to its first
correct answer, and what it holds at idle one second later.

The harness starts the server (`workload http`, the same program the http
scenario measures) on a port it chose, then asks GET / every half millisecond
until an answer arrives; that answer must pass the http scenario's verification.
Time counts from just before the exec (native) or the container's creation
(docker: what a user of `docker run` waits for) to the answer's last byte.
What ships (program, libraries, the runtime it needs, the image) is read at
build time and recorded in each benchmark's build block, beside these."""

from __future__ import annotations

import socket
import time

from harness.errors import TrialError
from harness.record.metrics import Metric
from harness.subjects.scenarios import http_answer
from harness.subjects.scenarios.scenario import Scenario, exit_cpu_s
from harness.suitekeys import num_key

POLL_S = 0.0005


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Startup(Scenario):
    name = "startup"
    subcommand = "http"
    needs_local_engine = True  # the answer is timed from this machine; a remote engine's network would be in it
    # The floor: the load generator's reference responder (a Rust program that answers and nothing else),
    # started, polled and verified the same way every round: what exec, the launch path (setpriv, the
    # trial's cgroup, pinning) and the polling take, with the responder's own start in it — a reference for
    # the start path, not a lower bound. A server that starts in well under a millisecond (Zig's) reads
    # mostly this path, not its own start.
    instrument_kind = "floor"  # the load generator is built for it; it never runs beside the servers here
    suite_keys = {
        # how long after the first answer the idle server's RSS is read
        "idle_s": num_key(0, 3600, 1.0),
    }
    metrics = (
        Metric("time_to_first_answer_ns", "time from exec to the first correct answer", "ns", "lower"),
        # the process tree's CPU time (user + system) when the first answer arrived: its start-up's cost
        Metric("cpu_to_first_answer_ns", "CPU time to the first correct answer", "ns", "lower", steal_free=True),
        Metric("idle_rss_bytes", "RSS at idle, after the first answer", "B", "lower", steal_free=True),
        Metric("time_to_ready_ns", "time from exec to the ready line", "ns", "lower", headline=False, shown=True),
        Metric(
            "process_cpu_s", "CPU time of the whole process (kernel)", "s", "lower", headline=False, steal_free=True
        ),
    )

    def floor_argv(self, loadgen_prefix: list[str], workers: int, params: dict) -> list[str]:
        return [*loadgen_prefix, "respond", "--port", str(free_port()), "--workers", str(workers)]

    def workload_args(self, params: dict) -> list[str]:
        return ["--port", str(free_port())]  # chosen here so that the answer can be asked for before any line

    def drive(self, trial, params, context):
        port = int(trial.argv[trial.argv.index("--port") + 1])
        t0 = trial.launched_at
        trial.phase("waiting for the first answer")
        while True:
            if time.monotonic() > trial.deadline:
                raise TrialError(trial._timeout_message())
            if trial.proc.poll() is not None:
                raise TrialError(trial._exit_message("exited before answering"))
            try:
                # a slow start (an emulated JVM) may accept long before it answers: wait up to the deadline
                status, headers, body = http_answer.get(port, timeout=max(1.0, trial.deadline - time.monotonic()))
            except (ConnectionRefusedError, ConnectionResetError):
                time.sleep(POLL_S)
                continue
            except (OSError, ValueError, IndexError) as e:
                raise TrialError(f"GET / failed: {e}") from None
            answered = time.monotonic()
            cpu_at_answer = trial.cpu_ns()  # the CPU it spent to get there: steal does not move it
            break
        wrong = http_answer.check(status, headers, body)
        if wrong:
            raise TrialError(f"server answer failed verification: {'; '.join(wrong)}")
        if not any(ev.get("type") == "ready" for ev in trial.events):
            trial.wait_event("ready")  # the protocol's first line, whenever it came
        trial.phase(f"answered after {1e3 * (answered - t0):.0f} ms; idle")
        trial.hold(params["idle_s"])
        idle = trial.sample_once()
        trial.terminate()
        return {
            "port": port,
            "_time_to_first_answer_ns": int((answered - t0) * 1e9),
            "_time_to_ready_ns": int((trial.first_line_at - t0) * 1e9) if trial.first_line_at else None,  # ready
            "_cpu_to_first_answer_ns": cpu_at_answer,
            "idle_rss_bytes": idle.rss if idle else None,
        }

    def verify(self, result, params, observations):
        super().verify(result, params, observations)
        if observations["idle_rss_bytes"] is None:
            raise TrialError("no RSS sample of the idle server")

    def measure(self, result, observations, trial, params):
        return {
            "time_to_first_answer_ns": observations["_time_to_first_answer_ns"],
            "idle_rss_bytes": observations["idle_rss_bytes"],
            "time_to_ready_ns": observations["_time_to_ready_ns"],
            "cpu_to_first_answer_ns": observations["_cpu_to_first_answer_ns"],
            "process_cpu_s": exit_cpu_s(trial),
        }
