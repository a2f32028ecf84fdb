"""What every backend provides, and what it hands the session: per runtime, the
descriptor, its toolchain, its build (a directory or an image) and the
launcher that starts its trials."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.config import Suite
from harness.measure.trial import Launcher
from harness.subjects.runtimes.runtime import Runtime, Toolchain


class Built(Protocol):
    """What a backend built for one subject: a directory of artifacts (natively) or an image."""

    @property
    def artifact_dir(self) -> Path: ...

    def to_json(self) -> dict: ...


@dataclass(frozen=True)
class Placement:
    """Where a backend runs the trials, typed: the engine (this host, or a Docker engine), the
    architecture that runs the programs (an emulated target differs from it), whether host PIDs and
    cgroups are readable from here, how trials are sampled, and the limits each trial runs under."""

    engine: str  # "native" or "docker"
    arch: str  # what runs the programs: the host's, or the engine's
    local: bool  # the harness reads the trials' PIDs and cgroups itself
    sampling: str  # how a trial is sampled, in words
    memory_bytes: int | None = None  # the host's or the engine's
    trial_memory_limit_bytes: int = 0  # each trial's own limit (0: none)
    nofile: int = 0  # each trial's open-files limit (0: the harness's own)
    cpus: int | None = None
    docker_host: str | None = None
    engine_hostname: str | None = None
    server_version: str | None = None
    kernel: str | None = None
    os: str | None = None
    storage_driver: str | None = None
    cgroup_version: str | None = None
    cgroup_driver: str | None = None

    def emulates(self, target_arch: str) -> bool:
        """A target architecture other than the one that runs the programs: under qemu emulation."""
        return target_arch != self.arch

    @property
    def where(self) -> str:
        """The engine in a few words, for the first line of a run."""
        if self.engine == "native":
            return ""
        return f" (engine {self.engine_hostname} at {self.docker_host}, {self.arch})"

    def to_json(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass
class Prepared:
    runtime: Runtime
    toolchain: Toolchain | None
    built: Built  # native.Built or docker.workload_images.BuiltImage
    settings: dict
    launcher: Launcher

    def run_settings(self, scenario: str = "") -> dict:
        """Its settings in one scenario: the subject's, with that scenario's own run settings over them
        ([runtime.NAME.per_scenario.SCENARIO])."""
        own = (self.settings.get("per_scenario") or {}).get(scenario, {})
        return {**{k: v for k, v in self.settings.items() if k != "per_scenario"}, **own}

    def argv(self, scenario_args: list[str], workers: int, scenario: str = "") -> list[str]:
        """The exact command of one trial (pinning is applied by the launcher, not in argv)."""
        settings = self.run_settings(scenario)
        prefix = self.runtime.launch(self.built.artifact_dir, workers, settings, self.toolchain)
        aslr_off = ["setarch", "-R"] if settings.get("layout", "default") != "default" else []
        return [*aslr_off, *prefix, *scenario_args, "--workers", str(workers)]


class Backend(Protocol):
    name: str
    arch: str
    notes: list[str]  # said once at the start of a run (e.g. leftovers removed)

    def placement(self, suite: Suite) -> Placement: ...

    def available_cpus(self) -> list[int] | None: ...

    def discover(self, found: dict[str, Runtime], suite: Suite) -> dict[str, tuple[Runtime, Toolchain | None]]: ...

    def build_all(self, found: dict, suite: Suite, log: Callable[[str], None]) -> dict[str, Prepared]: ...

    def close(self) -> None: ...
