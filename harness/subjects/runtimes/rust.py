"""Rust tokio tasks: the workload in workloads/rust (tokio + hyper 1.x), built
with the host's cargo or cross-compiled in the toolchain-rust image."""

from __future__ import annotations

import dataclasses
import platform
import shutil
import subprocess
from pathlib import Path

from harness.errors import HarnessError
from harness.subjects.runtimes.runtime import (
    RUNTIME_BASE,
    WORKLOADS,
    BaseImageSpec,
    BuildStep,
    ImageRecipe,
    Runtime,
    Toolchain,
    first_line,
)
from harness.suitekeys import Key, env_key

RUST_TARGETS = {"amd64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}
GNU_TRIPLES = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}


def _other(arch: str) -> str:
    return "arm64" if arch == "amd64" else "amd64"


def _toolchain_packages(arch: str) -> list[str]:
    """rustc and cargo, with the other architecture's std and cross gcc: the image cross-compiles."""
    other = _other(arch)
    return [
        "ca-certificates",
        "rustc",
        "cargo",
        "gcc",
        "libc6-dev",
        f"libstd-rust-dev:{other}",
        f"gcc-{GNU_TRIPLES[other].replace('_', '-')}",
        f"libc6-dev-{other}-cross",
    ]


def _linkers(arch: str) -> dict[str, str]:
    # cargo links each target with that target's gcc (both are installed)
    return {
        f"CARGO_TARGET_{RUST_TARGETS[a].upper().replace('-', '_')}_LINKER": f"{GNU_TRIPLES[a]}-gcc" for a in GNU_TRIPLES
    }


TOOLCHAIN_IMAGE = BaseImageSpec(
    "toolchain-rust",
    "toolchain",
    "apt",
    _toolchain_packages,
    env=_linkers,
    extra_arches=lambda a: [_other(a)],
    host_cas=True,
)


def find_toolchain(spec: str = "") -> Toolchain:
    """The host's cargo; or a rustup toolchain by name (nightly, 1.95.0: installed ones only,
    rustup cannot download here) or a toolchain directory (with bin/cargo and bin/rustc)."""
    if spec:
        home = Path(spec)
        if "/" not in spec:
            found = sorted((Path.home() / ".rustup" / "toolchains").glob(f"{spec}-*"))
            if not found:
                have = ", ".join(sorted(p.name for p in (Path.home() / ".rustup" / "toolchains").glob("*"))) or "none"
                raise HarnessError(
                    f"Rust toolchain '{spec}' is not installed (installed: {have}): rustup toolchain "
                    f"install {spec}, or give the path of a toolchain directory"
                )
            home = found[0]
        cargo, rustc = home / "bin" / "cargo", home / "bin" / "rustc"
        if not cargo.is_file() or not rustc.is_file():
            raise HarnessError(f"Rust toolchain {spec}: no bin/cargo and bin/rustc under {home}")
        version = f"{first_line([str(rustc), '--version'])}; {first_line([str(cargo), '--version'])}"
        env = {"RUSTC": str(rustc), "RUSTUP_TOOLCHAIN": home.name}
        return Toolchain("cargo", version, {"cargo": str(cargo), "rustc": str(rustc)}, env=env, where=str(home))
    cargo_path, rustc_path = shutil.which("cargo"), shutil.which("rustc")
    if not cargo_path or not rustc_path:
        raise HarnessError(
            "Rust toolchain (cargo, rustc) not found on PATH: install it with rustup (https://rustup.rs)"
        )
    version = f"{first_line([rustc_path, '--version'])}; {first_line([cargo_path, '--version'])}"
    return Toolchain("cargo", version, {"cargo": cargo_path, "rustc": rustc_path})


def cargo_build(tc: Toolchain, out: Path, src: Path) -> list[BuildStep]:
    return [BuildStep([tc.paths["cargo"], "build", "--release", "--locked", "--quiet"], src, dict(tc.env))]


def cargo_test(tc: Toolchain, src: Path) -> list[BuildStep]:
    return [BuildStep([tc.paths["cargo"], "test", "--release", "--locked", "--quiet"], src, dict(tc.env))]


def host_target(tc: Toolchain) -> str:
    """The host's target triple (a static build names it, so that build scripts stay dynamic)."""
    for line in subprocess.run([tc.paths["rustc"], "-vV"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("host:"):
            return line.split()[1]
    return RUST_TARGETS.get(platform.machine().replace("x86_64", "amd64").replace("aarch64", "arm64"), "")


def custom(settings: dict) -> bool:
    """Does this subject build differently from the plain release build?"""
    return bool(
        settings.get("profile", "release") != "release"
        or settings.get("features")
        or settings.get("target")
        or settings.get("rustflags")
        or settings.get("static")
        or settings.get("pins")
    )


def rustflags_of(settings: dict) -> str:
    static = "-C target-feature=+crt-static" if settings.get("static") else ""
    return " ".join(f for f in (settings.get("rustflags", ""), static) if f)


def variant_steps(tc: Toolchain, out: Path, src: Path, settings: dict) -> list[BuildStep]:
    target = settings.get("target") or (host_target(tc) if settings.get("static") else "")
    flags = rustflags_of(settings)
    # the workload's own target directory, shared with the plain build: cargo keeps each feature set's and
    # profile's artifacts apart, so a variant recompiles only what it changes (the build scenario's is empty)
    env = {**tc.env, "CARGO_TARGET_DIR": str(src / "target")}
    if flags:
        env["RUSTFLAGS"] = flags
    steps = [
        BuildStep([tc.paths["cargo"], "update", "--quiet", "-p", name, "--precise", version], src, env)
        for name, version in sorted((settings.get("pins") or {}).items())
    ]
    args = ["build", "--locked", "--quiet", "--profile", settings.get("profile", "release")]
    if settings.get("features"):
        args += ["--features", ",".join(settings["features"])]
    if target:
        args += ["--target", target]
    profile_dir = "release" if settings.get("profile", "release") == "release" else settings["profile"]
    steps.append(BuildStep([tc.paths["cargo"], *args], src, env))
    # out of whatever target directory the build ran in (the build scenario gives it an empty one)
    built = "/".join(p for p in ("$CARGO_TARGET_DIR", target, profile_dir, "workload") if p)
    steps.append(BuildStep(["sh", "-c", f'cp "{built}" "{out / "workload"}"'], src, env))
    return steps


def flags_of(settings: dict) -> dict:
    out = {k: settings[k] for k in ("toolchain", "features", "target", "rustflags", "pins") if settings.get(k)}
    out["profile"] = settings.get("profile", "release")
    if settings.get("static"):
        out["static"] = "crt-static (glibc)" if "musl" not in settings.get("target", "") else "musl"
    return out


def configure(rt: Runtime, subject: str, settings: dict) -> Runtime:
    spec = settings.get("toolchain", "")
    if not custom(settings):
        return rt.as_subject(subject, find_toolchain=lambda: find_toolchain(spec), build_flags=flags_of(settings))
    image = rt.image
    if image is not None:
        if spec or settings.get("target"):
            image = None  # the image has Debian's rustc and the two gnu targets only: said in one line
        else:
            image = dataclasses.replace(
                image,
                build_args=lambda arch: {
                    "RUST_TARGET": RUST_TARGETS[arch],
                    "CARGO_PROFILE": settings.get("profile", "release"),
                    "CARGO_FEATURES": ",".join(settings.get("features", [])),
                    "RUSTFLAGS": rustflags_of(settings),
                    "CARGO_PINS": " ".join(f"{k}@{v}" for k, v in sorted((settings.get("pins") or {}).items())),
                },
            )
    return rt.as_subject(
        subject,
        find_toolchain=lambda: find_toolchain(spec),
        build_steps=lambda tc, out, src: variant_steps(tc, out, src, settings),
        artifacts=(),  # the last build step copies the program out of its own target directory
        build_flags=flags_of(settings),
        own_tree=bool(settings.get("pins")),
        image=image,
    )


def clean_caches(tree: Path) -> dict[str, str]:
    """A clean build: an empty target directory of its own (crates already downloaded: CARGO_HOME stays)."""
    return {"CARGO_TARGET_DIR": str(tree / "target")}


# Shared with the load generator, which is a Rust program too.
IMAGE = ImageRecipe(
    {"TOOLCHAIN_IMAGE": TOOLCHAIN_IMAGE, "RUNTIME_IMAGE": RUNTIME_BASE},
    lambda arch: {"RUST_TARGET": RUST_TARGETS[arch]},
    ("sh", "-c", "rustc --version; cargo --version"),
)

RUNTIME = Runtime(
    name="rust",
    colour="#D55E00",  # Okabe-Ito vermillion
    find_toolchain=find_toolchain,
    source=WORKLOADS / "rust",
    source_globs=("src/**/*.rs", "Cargo.toml", "Cargo.lock", "build.rs"),
    build_steps=cargo_build,
    unit_tests=cargo_test,
    artifacts=("target/release/workload",),
    launch=lambda art, w, s, tc: [str(art / "workload")],
    workers_setting="tokio worker_threads (set by the program from --workers)",
    suite_keys={
        "env": env_key(),
        # a rustup toolchain by name (nightly, 1.95.0) or a toolchain directory; "" is cargo on PATH
        "toolchain": Key(str, "", rule="a rustup toolchain name or a path"),
        "profile": Key(str, "release", lambda v: bool(v), "a cargo profile of the workload (release, size)"),
        "features": Key(list, [], lambda v: all(isinstance(x, str) for x in v), "a list of cargo features"),
        "target": Key(str, "", rule="a target triple, e.g. x86_64-unknown-linux-musl"),
        "rustflags": Key(str, "", rule="RUSTFLAGS"),
        "static": Key(bool, False),  # a static binary (crt-static)
        # dependency pins, e.g. { tokio = "1.40.0" }: cargo update --precise in the subject's own tree
        "pins": Key(dict, {}, lambda v: all(isinstance(x, str) for x in v.values()), "a table of crate = version"),
    },
    image=IMAGE,
    configure=configure,
    # measured here at 1,000,000 tasks / 10,000 connections (W = 1), rounded up: the guard's first guess
    memory_base=32 << 20,
    memory_per_unit={"spawn": 600, "live": 800, "http": 16 * 1024},
    incremental_file="src/work.rs",
    clean_caches=clean_caches,
    toolchain_keys=("toolchain",),
)
