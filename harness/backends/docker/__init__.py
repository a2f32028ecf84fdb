"""The docker backend: workloads built from their Dockerfiles (images cached by
content) and run one container per trial, pinned with cpuset, memory-limited,
on the host network."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from harness.backends.base import Placement, Prepared
from harness.backends.docker import base_images, containers, engine, workload_images
from harness.config import Suite
from harness.errors import HarnessError
from harness.measure.cgroup import CpuAccount
from harness.subjects.runtimes.runtime import Runtime, Toolchain


class DockerBackend:
    name = "docker"

    def __init__(self, eng: engine.Engine, arch: str) -> None:
        self.engine, self.arch = eng, arch
        removed = containers.remove_leftovers(eng)
        if eng.local:
            CpuAccount.remove_empty_leftovers()
        self.notes = [f"removed {removed} container(s) left by a harness that no longer runs"] if removed else []

    def limits(self, suite: Suite) -> tuple[int, int]:
        cfg = suite["docker"]
        memory = cfg["memory_limit_mib"] * 2**20 or int(self.engine.info.get("MemTotal", 8 * 2**30) * 3 / 4)
        from harness.subjects import SCENARIOS

        needed = max((SCENARIOS[s].open_files(SCENARIOS[s].params(suite)) for s in suite.scenarios), default=0)
        nofile = cfg["nofile"] or max(4096, needed)
        engine_limit = engine.engine_nofile_limit(self.engine)
        if engine_limit is not None and nofile > engine_limit:
            raise HarnessError(
                f"containers need an open-files limit of {nofile}, but dockerd's own hard limit is {engine_limit}: "
                f"start dockerd with a higher one (ulimit -Hn {nofile}; for the service: LimitNOFILE={nofile}) or "
                "lower docker.nofile / the http stages"
            )
        return memory, nofile

    def placement(self, suite: Suite) -> Placement:
        memory, nofile = self.limits(suite)
        return self.engine.placement(memory, nofile)

    def available_cpus(self) -> list[int] | None:
        return None if self.engine.local else list(range(int(self.engine.info.get("NCPU") or 1)))

    def discover(self, found: dict[str, Runtime], suite: Suite) -> dict[str, tuple[Runtime, Toolchain | None]]:
        for name, settings in suite.runtime_settings.items():
            layouts = {settings.get("layout", "default")} | {
                s.get("layout", "default") for s in (settings.get("per_scenario") or {}).values()
            }
            if name in found and layouts != {"default"}:
                raise HarnessError(
                    f"'{name}': layout {sorted(layouts - {'default'})[0]} turns ASLR off with setarch, which a "
                    "container may not do: use --backend native"
                )
        for name, rt in found.items():
            if rt.image is None and rt.base:
                flags = ", ".join(f"{k}={v}" for k, v in rt.build_flags.items())
                raise HarnessError(
                    f"'{name}' cannot be built in the docker images ({flags}: a toolchain by path, a target, "
                    "jlink or a newer --release are this host's): use --backend native"
                )
            if rt.image is None:
                raise HarnessError(
                    f"runtime '{name}' has no Dockerfile: the docker backend runs the built-in runtimes only; "
                    f"use --backend native for '{name}'"
                )
        if not self.engine.local:  # its image samples the remote engine's cgroups, whatever the scenarios
            from harness.subjects import LOADGEN

            found = {**found, LOADGEN.name: LOADGEN}
        return {name: (rt, None) for name, rt in found.items()}

    def ensure_base_images(self, runtimes: list[Runtime], log: Callable[[str], None]) -> None:
        """Build the base images these runtimes need and the engine lacks (mmdebstrap | import),
        saying what and how long: a host without a registry needs nothing run by hand first.
        Without mmdebstrap the Dockerfiles' official images are used (a registry must answer)."""
        wanted = base_images.for_runtimes(runtimes, self.engine.arch, self.arch)
        missing = [n for n in wanted if base_images.find(self.engine.client, n.tag) is None]
        if not missing:
            return
        if not shutil.which("mmdebstrap"):
            log(
                f"base images missing ({', '.join(n.tag for n in missing)}) and no mmdebstrap: the Dockerfiles' "
                "official images will be pulled (needs a registry; or install mmdebstrap)"
            )
            return
        log(
            f"building {len(missing)} missing base image(s) for {self.arch}: {', '.join(n.tag for n in missing)} "
            "(mmdebstrap; about 5-60 s each)"
        )
        t0 = time.monotonic()
        base_images.bootstrap(self.engine.client, missing, log)
        log(f"base images built in {time.monotonic() - t0:.0f} s")

    def build_all(self, found, suite: Suite, log: Callable[[str], None]) -> dict[str, Prepared]:
        memory, nofile = self.limits(suite)
        self.ensure_base_images([rt for rt, _ in found.values()], log)
        prepared = {}
        for name, (rt, _) in found.items():
            log(f"building image {name} ...")
            built = workload_images.build_image(self.engine, rt, self.arch, log)
            log(f"image {name}: {'cached' if built.cached else 'built'} {built.tag}")
            # inside the image the program and its runtime are where the Dockerfile put them
            tc = Toolchain(name, built.toolchain_version, dict(rt.image.toolchain_paths))
            launcher = containers.ContainerLauncher(
                self.engine, built.tag, memory, nofile, {f"{containers.LABEL}.runtime": name}
            )
            prepared[name] = Prepared(rt, tc, built, suite.runtime_settings.get(name, {}), launcher)
        if not self.engine.local and "loadgen" in prepared:
            # a remote engine's cgroups are read by a small container of the load generator's image on it
            loadgen = prepared["loadgen"].built
            assert isinstance(loadgen, workload_images.BuiltImage)
            for p in prepared.values():
                assert isinstance(p.launcher, containers.ContainerLauncher)
                p.launcher.sampler_image = loadgen.tag
        return prepared

    def close(self) -> None:
        containers.remove_leftovers(self.engine, only_this_run=True)
