"""What the machine is and how busy it is: host facts for the results file,
and /proc/stat counters so every trial records steal and the host's load."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARCH_ALIASES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def native_arch() -> str:
    m = platform.machine().lower()
    return ARCH_ALIASES.get(m, m)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def host_facts(target_arch: str) -> dict:
    """The machine the harness runs on (a remote docker engine is recorded under "docker")."""
    facts = {
        "hostname": socket.gethostname(),
        "arch": target_arch,
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or "unreadable",
        "no_turbo": _read("/sys/devices/system/cpu/intel_pstate/no_turbo") or "unreadable",
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "limits": limits(),
    }
    try:  # pyperf collects the rest (ASLR, boot time, CPU frequency, isolated CPUs, ...)
        from pyperf import _collect_metadata

        meta: dict = {}
        _collect_metadata.collect_system_metadata(meta)
        _collect_metadata.collect_cpu_metadata(meta)
        facts["pyperf"] = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in meta.items()}
    except Exception as e:  # pyperf's collector is private API: record why it is missing
        facts["pyperf"] = {"error": repr(e)}
    return facts


def limits() -> dict:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {
        "nofile_soft": soft,
        "nofile_hard": hard,
        "somaxconn": _read("/proc/sys/net/core/somaxconn"),
        "ip_local_port_range": _read("/proc/sys/net/ipv4/ip_local_port_range"),
        # what many connections need beyond files and ports: conntrack entries (None: the module is not
        # loaded), and for a server with an OS thread per connection, threads, pids and memory mappings
        "nf_conntrack_max": _read("/proc/sys/net/netfilter/nf_conntrack_max"),
        "nf_conntrack_count": _read("/proc/sys/net/netfilter/nf_conntrack_count"),
        "threads_max": _read("/proc/sys/kernel/threads-max"),
        "pid_max": _read("/proc/sys/kernel/pid_max"),
        "max_map_count": _read("/proc/sys/vm/max_map_count"),
        "nr_open": _read("/proc/sys/fs/nr_open"),
    }


def git_state(root: Path) -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")
    return {
        "sha": sha or "unknown",
        "short_sha": (sha or "nogit")[:8],
        "dirty": bool(status) if status is not None else None,
    }


@dataclass(frozen=True)
class CpuTimes:
    """Jiffies from one /proc/stat line: the total and its steal, idle and busy parts."""

    total: int
    steal: int
    idle: int
    tasks: int = 0  # user + nice + system: what processes ran (interrupts apart)

    @staticmethod
    def parse(fields: list[str]) -> CpuTimes:
        v = [int(x) for x in fields[1:]]
        v += [0] * (8 - len(v))
        # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
        total = sum(v[:8])
        return CpuTimes(total=total, steal=v[7], idle=v[3] + v[4], tasks=v[0] + v[1] + v[2])


def read_proc_stat() -> dict[str, CpuTimes]:
    out = {}
    text = _read("/proc/stat") or ""
    for line in text.splitlines():
        if line.startswith("cpu"):
            f = line.split()
            out[f[0]] = CpuTimes.parse(f)
    return out


def host_load(before: dict[str, CpuTimes], after: dict[str, CpuTimes], workload_cpus: list[int]) -> dict:
    """Steal over all CPUs, and how busy the CPUs *not* given to the workload were
    (the rest of the host's load) during one trial."""

    def pct(part: int, total: int) -> float:
        return round(100.0 * part / total, 2) if total > 0 else 0.0

    a, b = after.get("cpu"), before.get("cpu")
    if not a or not b:
        return {"steal_pct": None, "other_cpus_busy_pct": None, "loadavg_1m": None}
    total = a.total - b.total
    result: dict[str, Any] = {"steal_pct": pct(a.steal - b.steal, total)}
    per_cpu = {}
    for name in after:
        if name == "cpu" or name not in before:
            continue
        d_total = after[name].total - before[name].total
        per_cpu[name] = {
            "steal_pct": pct(after[name].steal - before[name].steal, d_total),
            "busy_pct": pct(d_total - (after[name].idle - before[name].idle), d_total),
        }
    others = [v["busy_pct"] for k, v in per_cpu.items() if int(k[3:]) not in workload_cpus]
    result["other_cpus_busy_pct"] = round(sum(others) / len(others), 2) if others else None
    # the seconds processes ran on the workload's CPUs (the workload's own CPU time is taken off by the caller)
    hz = os.sysconf("SC_CLK_TCK")
    result["tasks_on_workload_cpus_s"] = round(
        sum(
            after[f"cpu{c}"].tasks - before[f"cpu{c}"].tasks
            for c in workload_cpus
            if f"cpu{c}" in after and f"cpu{c}" in before
        )
        / hz,
        3,
    )
    result["per_cpu"] = per_cpu
    result["loadavg_1m"] = os.getloadavg()[0]
    return result


def cpu_ns_of_tree(pid: int) -> int | None:
    """CPU time (user + system) of a process and its children, every live thread, in nanoseconds from the
    scheduler's own account (/proc/PID/task/TID/schedstat: exact, where /proc/PID/stat counts 10 ms ticks);
    None once the process is gone."""
    import psutil

    try:
        pids = [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return None
    total = 0
    for p in pids:
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
    return total
