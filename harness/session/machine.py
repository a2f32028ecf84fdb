"""The machine commands (not sessions): `harness env`, what this machine has for
each runtime and scenario, and `harness images bootstrap`, the base images the
docker backend builds where no registry is reachable."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.console import Console

from harness.errors import EXIT_OK, HarnessError
from harness.measure import host
from harness.subjects import LOADGEN, RUNTIMES, SCENARIOS


def images(arch: str | None, names: list[str], mirror: str | None, console: Console) -> int:
    """harness images bootstrap: the base images the docker backend needs where no registry is reachable."""
    from harness.backends.docker import base_images, engine

    eng = engine.require()
    wanted = base_images.for_runtimes(
        [LOADGEN if n == LOADGEN.name else RUNTIMES[n] for n in names], eng.arch, arch or eng.arch
    )
    t0 = time.monotonic()
    made = base_images.bootstrap(
        eng.client, wanted, lambda m: console.print(m, highlight=False), mirror or base_images.DEFAULT_MIRROR
    )
    total = sum(m["size_bytes"] or 0 for m in made)
    console.print(
        f"{len(made)} base image(s), {total / 2**20:.0f} MiB in all, in {time.monotonic() - t0:.0f} s; "
        "docker builds of the workloads now use them",
        highlight=False,
    )
    return EXIT_OK


def env(console: Console) -> int:
    """harness env: what this machine has for each runtime and scenario, and what is missing."""
    import shutil

    from harness.backends.docker import engine

    console.print(
        f"arch: {host.native_arch()} ({host.cpu_model()}), CPUs this process may use: "
        f"{sorted(os.sched_getaffinity(0))}",
        highlight=False,
    )
    missing: dict[str, list[str]] = {}
    for name, rt in RUNTIMES.items():
        try:
            assert rt.find_toolchain is not None
            tc = rt.find_toolchain()
            extra = f" ({tc.where})" if tc.where else ""
            console.print(f"{name}: {tc.version}{extra}", highlight=False)
            rt.build_steps(tc, Path("/OUT"), Path("/SRC"))  # the descriptor names missing build tools (e.g. mvn)
        except HarnessError as e:
            console.print(f"{name}: [red]missing[/red] — {e}", highlight=False)
            missing.setdefault(name, []).append(str(e))
    eng = engine.connect()
    if eng:
        f = eng.placement()
        console.print(
            f"docker engine: {f.server_version} on {f.engine_hostname} ({f.arch}, {f.cpus} CPUs) "
            f"at {f.docker_host}; arm64 emulation: "
            f"{'yes' if engine.emulation_available('arm64') else 'no'}",
            highlight=False,
        )
    else:
        console.print(
            "docker engine: none answers (the docker backend needs one; mmdebstrap: "
            f"{'yes' if shutil.which('mmdebstrap') else 'no'})",
            highlight=False,
        )
    lim = host.limits()
    console.print(
        f"open files: soft {lim['nofile_soft']}, hard {lim['nofile_hard']}; somaxconn "
        f"{lim['somaxconn']}; local port range {lim['ip_local_port_range']}",
        highlight=False,
    )
    console.print(  # what many connections need beyond files and ports (http's pre-run checks read the same)
        f"conntrack max {lim['nf_conntrack_max'] or 'not loaded'}; threads-max {lim['threads_max']}; "
        f"pid_max {lim['pid_max']}; max_map_count {lim['max_map_count']}",
        highlight=False,
    )
    for scenario in SCENARIOS:
        measuring = [r for r, rt in RUNTIMES.items() if scenario not in rt.not_measured]
        line = f"scenario {scenario}: " + (
            f"runs for {', '.join(r for r in measuring if r not in missing)}; missing for {', '.join(missing)}"
            if missing
            else f"ready for {', '.join(measuring)}"
        )
        aside = [f"{r}: {rt.not_measured[scenario]}" for r, rt in RUNTIMES.items() if scenario in rt.not_measured]
        console.print(line + (f" (not measured by {'; '.join(aside)})" if aside else ""), highlight=False)
    return EXIT_OK
