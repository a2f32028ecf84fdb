"""What every backend provides, and what it hands the session: per runtime, the
descriptor, its toolchain, its build (a directory or an image) and the
launcher that starts its trials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.config import Suite
from harness.measure.trial import Launcher
from harness.subjects.runtimes.runtime import Runtime, Toolchain


@dataclass
class Prepared:
    runtime: Runtime
    toolchain: Toolchain | None
    built: Any  # native.Built or docker.workload_images.BuiltImage: both have artifact_dir and to_json()
    settings: dict
    launcher: Launcher

    def argv(self, scenario_args: list[str], workers: int) -> list[str]:
        """The exact command of one trial (pinning is applied by the launcher, not in argv)."""
        prefix = self.runtime.launch(self.built.artifact_dir, workers, self.settings, self.toolchain)
        return [*prefix, *scenario_args, "--workers", str(workers)]


class Backend(Protocol):
    name: str
    arch: str
    notes: list[str]  # said once at the start of a run (e.g. leftovers removed)

    def facts(self) -> dict | None: ...

    def available_cpus(self) -> list[int] | None: ...

    def discover(self, found: dict[str, Runtime], suite: Suite) -> dict[str, tuple[Runtime, Toolchain | None]]: ...

    def build_all(self, found: dict, suite: Suite, log: Callable[[str], None]) -> dict[str, Prepared]: ...

    def close(self) -> None: ...
