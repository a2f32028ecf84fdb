"""Where workloads are built and run: natively (build cache, pinned child
processes) or in Docker (images cached by content, one pinned container per
trial). Both hand the session the same Prepared runtimes and Launchers, so
nothing after this point knows which one ran."""

from __future__ import annotations

from harness.backends.base import Backend, Prepared
from harness.backends.docker import DockerBackend
from harness.backends.docker import engine as docker_engine
from harness.backends.native import NativeBackend
from harness.errors import HarnessError
from harness.measure import host

__all__ = ["Backend", "Prepared", "select"]


def select(asked: str, arch: str, needs_native: bool = False) -> Backend:
    """native, docker, or auto (docker when an engine answers and no runtime of the
    suite is a prebuilt command). A foreign --arch needs docker and qemu
    emulation; without them, one line and exit 2."""
    native = host.native_arch()
    if asked == "auto" and needs_native:
        asked = "native"  # a prebuilt [runtime.NAME] command runs on the host only
    eng = docker_engine.connect() if asked in ("docker", "auto") else None
    if asked == "docker" and eng is None:
        docker_engine.require()  # raises with the message
    if eng is None:
        if arch != native:
            raise HarnessError(
                f"--arch {arch} on this {native} host needs the docker backend (qemu emulation) and no Docker "
                f"engine answers: start one, or use --arch {native}"
            )
        return NativeBackend(arch)
    if arch != eng.arch:
        if not eng.local:
            raise HarnessError(
                f"--arch {arch}: the engine at {eng.docker_host} is {eng.arch}; point DOCKER_HOST at an {arch} host"
            )
        if not docker_engine.emulation_available(arch):
            raise HarnessError(
                f"--arch {arch} on this {eng.arch} host needs qemu user emulation: run apt-get install -y "
                f"qemu-user-static binfmt-support (or use --arch {eng.arch})"
            )
    return DockerBackend(eng, arch)
