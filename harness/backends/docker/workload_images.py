"""Workload images: each runtime's Dockerfile built through the SDK, tagged by a
hash of its sources, Dockerfile, base images and build args, so an unchanged
workload is never rebuilt."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.backends.docker import base_images
from harness.backends.docker.engine import Engine
from harness.errors import HarnessError

LABEL = base_images.LABEL
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WORKLOAD_REPOSITORY = "cbh"
DOCKER_FILES = ("Dockerfile", ".dockerignore")  # part of the image key, beside the sources


@dataclass
class BuiltImage:
    """Stands where the native backend's Built does: `artifact_dir` is where the
    Dockerfile put the program inside the image."""

    runtime: str
    tag: str
    image_id: str
    arch: str
    cached: bool
    toolchain_version: str
    bases: dict[str, dict]
    artifact_dir: Path = Path("/app")
    cache_key: str = ""
    footprint: dict | None = None  # what ships: the program under /app and the whole image
    flags: dict = field(default_factory=dict)  # what this subject's build sets beyond the defaults

    def to_json(self) -> dict:
        return {
            "image": self.tag,
            "image_id": self.image_id,
            "arch": self.arch,
            "cached": self.cached,
            "toolchain_version": self.toolchain_version,
            "base_images": self.bases,
            "cache_key": self.cache_key,
            "footprint": self.footprint,
            "flags": self.flags,
        }


def _base_images(engine: Engine, rt, arch: str) -> tuple[dict[str, str], dict[str, dict]]:
    """Build args naming the bootstrap images when present; otherwise the
    Dockerfile's defaults (official images, pulled by the engine) apply."""
    args, bases = {}, {}
    for arg, spec in rt.image.bases.items():
        base = base_images.BaseImage(spec)
        base_arch = engine.arch if base.role == "toolchain" else arch
        tag = base.tag(base_arch)
        found = base_images.find(engine.client, tag)
        if found is not None:
            args[arg] = tag
            bases[arg] = base_images.describe(found, tag, cached=True)
        else:
            bases[arg] = {"tag": None, "note": "Dockerfile default (official image)"}
    return args, bases


def footprint(engine: Engine, tag: str) -> dict:
    """Bytes of the program (and libraries) under /app, read from a container that is
    created but never started, and of the whole image (the runtime it needs included)."""
    import io
    import tarfile

    image_bytes = int(engine.client.images.get(tag).attrs.get("Size") or 0)
    from harness.backends.docker.containers import run_labels  # a killed harness's leftover is removed by the next

    container = engine.client.containers.create(tag, labels=run_labels())
    try:
        stream, _ = container.get_archive("/app")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            program = sum(m.size for m in tar.getmembers() if m.isfile())
    finally:
        container.remove(force=True)
    return {"program_bytes": program, "image_bytes": image_bytes, "total_bytes": image_bytes}


def _probe_version(engine: Engine, image: str | None, argv: tuple[str, ...]) -> str:
    if image is None:
        return "unknown (official image, not probed)"
    # host network: a variant's Go toolchain is downloaded through the module proxy on the first ask
    out = engine.client.containers.run(image, list(argv), remove=True, stdout=True, stderr=True, network_mode="host")
    text = ANSI_ESCAPE.sub("", out.decode(errors="replace"))  # Maven colours its banner even without a terminal
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def build_image(engine: Engine, rt, arch: str, log: Callable[[str], None]) -> BuiltImage:
    """Build rt's image for `arch`, or reuse the one whose content key matches."""
    import docker

    if rt.image is None or rt.source is None:
        raise HarnessError(f"runtime '{rt.name}' has no image recipe: it runs natively only (--backend native)")
    if rt.image.engine_arch_only:
        arch = engine.arch
    buildargs, bases = _base_images(engine, rt, arch)
    buildargs.update(rt.image.build_args(arch))
    h = hashlib.sha256(f"{rt.runtime}\0{arch}\0{json.dumps(buildargs, sort_keys=True)}\0".encode())
    for arg in sorted(bases):
        h.update(str(bases[arg].get("id")).encode())
    rt.source_digest(h, extra=DOCKER_FILES)
    key = h.hexdigest()[:16]
    tag = f"{WORKLOAD_REPOSITORY}/{rt.runtime}:{arch}-{key}"  # a variant's image: its runtime's repository
    existing = base_images.find(engine.client, tag)
    if existing is not None:
        labels = existing.labels or {}
        return BuiltImage(
            rt.name,
            tag,
            existing.id,
            arch,
            True,
            labels.get(f"{LABEL}.toolchain-version", ""),
            bases,
            cache_key=key,
            footprint=footprint(engine, tag),
            flags=rt.build_flags,
        )
    version = _probe_version(engine, buildargs.get("TOOLCHAIN_IMAGE"), rt.image.version_argv)
    labels = {
        f"{LABEL}.runtime": rt.runtime,
        f"{LABEL}.arch": arch,
        f"{LABEL}.toolchain-version": version,
        f"{LABEL}.key": key,
    }
    log(f"docker build {tag} ({version}) ...")
    try:
        image, _ = engine.client.images.build(
            path=str(rt.source),
            tag=tag,
            buildargs=buildargs,
            labels=labels,
            network_mode="host",
            rm=True,
            forcerm=True,
            pull=False,
        )
    except docker.errors.BuildError as e:
        lines = [str(c.get("stream") or c.get("error") or "").strip() for c in e.build_log]
        tail = [ln for ln in lines if ln][-12:]
        log("\n".join(tail))
        hint = ""
        if any("pull access denied" in ln or "manifest" in ln or "dial tcp" in ln or "lookup" in ln for ln in tail):
            hint = f": no registry reachable? run harness images bootstrap --arch {arch}"
        raise HarnessError(f"docker build of {rt.name} ({arch}) failed: {tail[-1] if tail else e.msg}{hint}") from None
    except docker.errors.APIError as e:
        raise HarnessError(
            f"docker build of {rt.name} ({arch}) failed: {e.explanation or e}: if no registry is "
            f"reachable, run harness images bootstrap --arch {arch}"
        ) from None
    return BuiltImage(
        rt.name,
        tag,
        image.id,
        arch,
        False,
        version,
        bases,
        cache_key=key,
        footprint=footprint(engine, tag),
        flags=rt.build_flags,
    )
