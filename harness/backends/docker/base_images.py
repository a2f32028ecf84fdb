"""Base images for hosts without a container registry (`harness images bootstrap`).

Each workload's Dockerfile takes its toolchain and runtime images as build
arguments whose defaults are the ecosystems' official images. Where `docker
pull` cannot reach a registry, this module builds equivalent images from
Debian 13 packages (`mmdebstrap ... | docker import`), tags them by the hash of
their recipe, labels them with their architecture and package versions (docker
import does not record a foreign architecture), and the image builds use them.

Toolchain images run on the engine's own architecture and cross-compile (Go's
GOARCH, Rust's --target with Debian's multiarch std, Java's jar is portable),
so nothing is compiled under emulation. Runtime images are unpacked with
mmdebstrap's `extract` variant: they only need files (libc, the JRE), so no
maintainer script runs under qemu and an arm64 runtime image takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.subjects.runtimes.runtime import BaseImageSpec

DEBIAN_SUITE = "trixie"  # Debian 13: Go 1.24, rustc 1.85, OpenJDK 21, Maven 3.9
DEFAULT_MIRROR = "http://deb.debian.org/debian"
RECIPE_VERSION = 1  # bump when the way images are made changes
REPOSITORY = "cbh-base"
LABEL = "org.cbh"
HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DISTRO_CERTS = Path("/usr/share/ca-certificates")


@dataclass(frozen=True)
class BaseImage:
    """A base image's recipe (declared by the runtime that needs it) and how it is tagged."""

    spec: BaseImageSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def role(self) -> str:
        return self.spec.role

    @property
    def variant(self) -> str:
        return self.spec.variant

    def packages(self, arch: str) -> list[str]:
        return self.spec.packages(arch)

    def env(self, arch: str) -> dict[str, str]:
        return self.spec.env(arch)

    def extra_arches(self, arch: str) -> list[str]:
        return self.spec.extra_arches(arch)

    def recipe(self, arch: str, mirror: str) -> dict:
        return {
            "name": self.name,
            "role": self.role,
            "variant": self.variant,
            "arch": arch,
            "extra_arches": self.extra_arches(arch),
            "packages": self.packages(arch),
            "env": self.env(arch),
            "suite": DEBIAN_SUITE,
            "mirror": mirror,
            "recipe_version": RECIPE_VERSION,
            "host_cas": sorted(hashlib.sha256(c.encode()).hexdigest()[:16] for c in host_added_cas())
            if self.spec.host_cas
            else [],
        }

    def tag(self, arch: str, mirror: str = DEFAULT_MIRROR) -> str:
        key = hashlib.sha256(json.dumps(self.recipe(arch, mirror), sort_keys=True).encode()).hexdigest()[:12]
        return f"{REPOSITORY}/{self.name}:{arch}-{key}"


def known_bases() -> dict[str, BaseImage]:
    """Every base image some runtime (or the load generator) declares, by name."""
    from harness.subjects import LOADGEN, RUNTIMES

    out: dict[str, BaseImage] = {}
    for rt in (*RUNTIMES.values(), LOADGEN):
        for spec in rt.image.bases.values() if rt.image else ():
            out.setdefault(spec.name, BaseImage(spec))
    return out


def host_added_cas() -> list[str]:
    """PEM certificates in the host's trust bundle that Debian's ca-certificates
    does not ship: a TLS-intercepting proxy's CA, which builds inside the images
    need to reach crates.io and Maven Central the way the host does."""
    pem = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
    try:
        bundle = pem.findall(HOST_BUNDLE.read_text())
    except OSError:
        return []
    known = {"".join(m.split()) for f in DISTRO_CERTS.rglob("*.crt") for m in pem.findall(f.read_text())}
    return [c for c in bundle if "".join(c.split()) not in known]


@dataclass
class Needed:
    base: BaseImage
    arch: str

    @property
    def tag(self) -> str:
        return self.base.tag(self.arch)


def needed(base_names: set[str], engine_arch: str, target_arch: str) -> list[Needed]:
    """Toolchain images for the engine's architecture, runtime images for the target's."""
    bases = known_bases()
    return [Needed(bases[n], engine_arch if bases[n].role == "toolchain" else target_arch) for n in sorted(base_names)]


def find(client, tag: str):
    import docker

    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def _deb_versions(listing: str, packages: list[str]) -> dict[str, str]:
    """name -> version from the .deb file names apt downloaded (name_version_arch.deb)."""
    wanted = {p.split(":")[0] for p in packages}
    out = {}
    for line in listing.split():
        parts = line.removesuffix(".deb").split("_")
        if len(parts) == 3 and parts[0] in wanted:
            out[parts[0]] = parts[1].replace("%3a", ":")
    return out


def _mmdebstrap(need: Needed, workdir: Path, mirror: str) -> tuple[Path, dict[str, str]]:
    base, arch = need.base, need.arch
    tar, listing = workdir / f"{base.name}-{arch}.tar", workdir / f"{base.name}-{arch}.debs"
    # the .deb names carry the versions; extract-hook for the extract variant, customize-hook for apt
    listing_hook = f'ls "$1/var/cache/apt/archives" >> {listing}'
    hooks = [("extract", listing_hook), ("customize", listing_hook)]
    cas = host_added_cas() if base.spec.host_cas else []
    if cas:
        cadir = workdir / "cas"
        cadir.mkdir(exist_ok=True)
        for i, c in enumerate(cas):
            (cadir / f"host-added-{i}.crt").write_text(c + "\n")
        hooks.append(
            (
                "customize",
                f'cp {cadir}/*.crt "$1/usr/local/share/ca-certificates/" && '
                'chroot "$1" update-ca-certificates >/dev/null 2>&1',
            )
        )
    argv = [
        "mmdebstrap",
        "--quiet",
        f"--variant={base.variant}",
        f"--architectures={','.join([arch, *base.extra_arches(arch)])}",
        f"--include={','.join(base.packages(arch))}",
        *[f"--{phase}-hook={h}" for phase, h in hooks],
        DEBIAN_SUITE,
        str(tar),
        mirror,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HarnessError(f"mmdebstrap for {base.name} ({arch}) failed (exit {proc.returncode}): {last[0]}")
    versions = _deb_versions(listing.read_text() if listing.exists() else "", base.packages(arch))
    return tar, versions


def bootstrap(client, wanted: list[Needed], log: Callable[[str], None], mirror: str = DEFAULT_MIRROR) -> list[dict]:
    """Build every missing image of `wanted`; present ones (same recipe hash) are kept."""
    if not shutil.which("mmdebstrap"):
        raise HarnessError(
            "mmdebstrap not found: install it (apt-get install -y mmdebstrap) to build base images without a registry"
        )
    made = []
    for need in wanted:
        tag = need.base.tag(need.arch, mirror)
        image = find(client, tag)
        if image is not None:
            log(f"{tag}: present ({image.short_id})")
            made.append(describe(image, tag, cached=True))
            continue
        log(f"{tag}: mmdebstrap {need.base.variant} {DEBIAN_SUITE} {need.arch} ...")
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="cbh-bootstrap-") as tmp:
            tar, versions = _mmdebstrap(need, Path(tmp), mirror)
            labels = {
                f"{LABEL}.base": need.base.name,
                f"{LABEL}.role": need.base.role,
                f"{LABEL}.arch": need.arch,
                f"{LABEL}.debian": DEBIAN_SUITE,
                f"{LABEL}.mirror": mirror,
                f"{LABEL}.packages": " ".join(f"{k}={v}" for k, v in sorted(versions.items())),
                f"{LABEL}.recipe": json.dumps(need.base.recipe(need.arch, mirror), sort_keys=True),
            }
            changes = [f"LABEL {k}={json.dumps(v)}" for k, v in labels.items()]
            changes += [f"ENV {k}={v}" for k, v in need.base.env(need.arch).items()]
            repo, _, version = tag.partition(":")
            client.api.import_image_from_file(str(tar), repository=repo, tag=version, changes=changes)
        image = client.images.get(tag)
        seconds = time.monotonic() - t0
        log(f"{tag}: built in {seconds:.0f} s, {image.attrs['Size'] / 2**20:.0f} MiB")
        made.append(describe(image, tag, cached=False, seconds=seconds))
    return made


def describe(image, tag: str, cached: bool, seconds: float | None = None) -> dict:
    labels = image.labels or {}
    return {
        "tag": tag,
        "id": image.id,
        "size_bytes": image.attrs.get("Size"),
        "cached": cached,
        "seconds": round(seconds, 1) if seconds is not None else None,
        "arch": labels.get(f"{LABEL}.arch"),
        "packages": labels.get(f"{LABEL}.packages"),
    }


def for_runtimes(runtimes: list, engine_arch: str, target_arch: str) -> list[Needed]:
    """The base images these runtimes' Dockerfiles use: toolchain images (and the
    load generator's) at the engine's architecture, runtime images at the target's."""
    wanted = {
        (BaseImage(spec), engine_arch if rt.image.engine_arch_only or spec.role == "toolchain" else target_arch)
        for rt in runtimes
        for spec in rt.image.bases.values()
    }
    return [Needed(base, a) for base, a in sorted(wanted, key=lambda x: (x[0].name, x[1]))]
