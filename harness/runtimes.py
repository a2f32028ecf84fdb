"""One descriptor per runtime: how to build it, how to launch it with W workers,
and what to record. Everything else in the harness is runtime-agnostic.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.config import JAVA_COLLECTORS
from harness.errors import HarnessError
from harness.images import RUST_TARGETS
from harness.toolchains import Toolchain

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "workloads"


@dataclass(frozen=True)
class BuildStep:
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageRecipe:
    """How the docker backend builds this runtime from the Dockerfile in its source dir."""
    bases: dict[str, str]                          # Dockerfile build arg -> bootstrap base image name
    build_args: Callable[[str], dict[str, str]]    # target arch -> build args
    version_argv: tuple[str, ...]                  # run in the toolchain image to record its version
    engine_arch_only: bool = False                 # the loadgen: never emulated, it is not what is measured


def _rust_target(arch: str) -> dict[str, str]:
    return {"RUST_TARGET": RUST_TARGETS[arch]}


RUST_IMAGE = ImageRecipe({"TOOLCHAIN_IMAGE": "toolchain-rust", "RUNTIME_IMAGE": "runtime-base"}, _rust_target,
                         ("sh", "-c", "rustc --version; cargo --version"))


@dataclass(frozen=True)
class Runtime:
    name: str
    toolchain: str | None                          # key into toolchains.FINDERS; None: prebuilt
    source: Path | None                            # hashed for the build cache
    source_globs: tuple[str, ...]
    build_steps: Callable[[Toolchain, Path, Path], list[BuildStep]]  # (toolchain, out dir, source dir)
    # files to copy from the source tree into the cache dir after the build
    artifacts: tuple[str, ...]
    # argv prefix that starts the program with W workers, given the cached artifact dir
    launch: Callable[[Path, int, dict, Toolchain | None], list[str]]
    workers_setting: str                           # how the runtime names W (recorded)
    image: ImageRecipe | None = None               # docker backend; None: native only


def _go_build(tc: Toolchain, out: Path, src: Path) -> list[BuildStep]:
    return [BuildStep([tc.paths["go"], "build", "-trimpath", "-o", str(out / "workload"), "."],
                      src, {"CGO_ENABLED": "0"})]


def _cargo_build(tc: Toolchain, out: Path, src: Path) -> list[BuildStep]:
    return [BuildStep([tc.paths["cargo"], "build", "--release", "--locked", "--quiet"], src)]


def _java_build(tc: Toolchain, out: Path, src: Path) -> list[BuildStep]:
    mvn = tc.paths.get("mvn")
    if not mvn:
        raise HarnessError("Maven (mvn) not found on PATH: install it (Debian package maven) to build the "
                           "Java workload")
    return [BuildStep([mvn, "-B", "-q", "package", "-DskipTests"], src, dict(tc.env))]


def _java_launch(artifact: Path, workers: int, settings: dict, tc: Toolchain | None) -> list[str]:
    assert tc is not None
    return [tc.paths["java"],
            f"-Djdk.virtualThreadScheduler.parallelism={workers}",
            JAVA_COLLECTORS[settings.get("gc", "G1")],
            *settings.get("jvm_flags", []),
            "-jar", str(artifact / "workload.jar")]


RUNTIMES: dict[str, Runtime] = {
    "go": Runtime(
        name="go", toolchain="go", source=WORKLOADS / "go", source_globs=("*.go", "go.mod", "go.sum"),
        build_steps=_go_build, artifacts=(),
        launch=lambda art, w, s, tc: [str(art / "workload")],
        workers_setting="GOMAXPROCS (set by the program from --workers)",
        image=ImageRecipe({"TOOLCHAIN_IMAGE": "toolchain-go", "RUNTIME_IMAGE": "runtime-base"},
                          lambda arch: {"TARGETARCH": arch}, ("go", "version"))),
    "rust": Runtime(
        name="rust", toolchain="cargo", source=WORKLOADS / "rust",
        source_globs=("src/**/*.rs", "Cargo.toml", "Cargo.lock", "build.rs"),
        build_steps=_cargo_build, artifacts=("target/release/workload",),
        launch=lambda art, w, s, tc: [str(art / "workload")],
        workers_setting="tokio worker_threads (set by the program from --workers)", image=RUST_IMAGE),
    "java": Runtime(
        name="java", toolchain="jdk", source=WORKLOADS / "java",
        source_globs=("src/main/**/*.java", "pom.xml"),
        build_steps=_java_build, artifacts=("target/workload.jar", "target/libs"),
        launch=_java_launch,
        workers_setting="-Djdk.virtualThreadScheduler.parallelism (JVM flag set by the harness)",
        image=ImageRecipe({"TOOLCHAIN_IMAGE": "toolchain-java", "RUNTIME_IMAGE": "runtime-java"}, lambda arch: {},
                          ("sh", "-c", "java -version 2>&1 | head -1; mvn -v 2>&1 | head -1"))),
}


# Tools the harness builds like a runtime but never measures.
LOADGEN = Runtime(
    name="loadgen", toolchain="cargo", source=ROOT / "loadgen", source_globs=("src/**/*.rs", "Cargo.toml", "Cargo.lock"),
    build_steps=_cargo_build, artifacts=("target/release/loadgen",),
    launch=lambda art, w, s, tc: [str(art / "loadgen")], workers_setting="--workers (tokio worker_threads)",
    image=dataclasses.replace(RUST_IMAGE, engine_arch_only=True))


def external(name: str, command: list[str]) -> Runtime:
    """A prebuilt workload declared in a suite ([runtime.NAME] command = [...])."""
    return Runtime(name=name, toolchain=None, source=None, source_globs=(), build_steps=lambda tc, out, src: [],
                   artifacts=(), launch=lambda art, w, s, tc: list(command),
                   workers_setting="--workers (external program)")


def at_tree(rt: Runtime, tree: Path) -> Runtime:
    """The same runtime built from another checkout (harness ab's base side)."""
    if rt.source is None:
        return rt
    return dataclasses.replace(rt, source=tree / rt.source.relative_to(ROOT))


def resolve(name: str, settings: dict) -> Runtime:
    if name in RUNTIMES:
        return RUNTIMES[name]
    if "command" in settings:
        return external(name, settings["command"])
    raise HarnessError(f"unknown runtime '{name}': use {', '.join(RUNTIMES)}")


def copy_artifacts(rt: Runtime, out: Path) -> None:
    assert rt.source is not None
    for rel in rt.artifacts:
        src = rt.source / rel
        dst = out / Path(rel).name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
