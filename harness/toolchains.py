"""Find the toolchains the workloads need and record their versions.

A missing toolchain is an error naming what to install; there is never a
silent fallback (in particular not to the machine's default Java 17, which has
no virtual threads).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError

MIN_JAVA = 21
JDK_SEARCH_GLOBS = ("/usr/lib/jvm/*", "/usr/java/*", "/opt/java/*", "/opt/jdk*", "/Library/Java/JavaVirtualMachines/*/Contents/Home",
                    "~/.sdkman/candidates/java/*", "~/.jdks/*")


@dataclass
class Toolchain:
    name: str          # "go", "cargo", "jdk"
    version: str       # what the tool says of itself, one line
    paths: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # environment a build or run needs

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version, "paths": self.paths}


def _first_line(cmd: list[str], env: dict | None = None) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HarnessError(f"cannot run {' '.join(cmd)}: {e}") from None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def find_go() -> Toolchain:
    go = shutil.which("go")
    if not go:
        raise HarnessError("Go toolchain not found on PATH: install Go 1.22 or newer (https://go.dev/dl) "
                           "or the Debian package golang")
    return Toolchain("go", _first_line([go, "version"]), {"go": go})


def find_cargo() -> Toolchain:
    cargo, rustc = shutil.which("cargo"), shutil.which("rustc")
    if not cargo or not rustc:
        raise HarnessError("Rust toolchain (cargo, rustc) not found on PATH: install it with rustup "
                           "(https://rustup.rs)")
    version = f"{_first_line([rustc, '--version'])}; {_first_line([cargo, '--version'])}"
    return Toolchain("cargo", version, {"cargo": cargo, "rustc": rustc})


def jdk_major(home: Path) -> int | None:
    """The JDK's major version from its `release` file, or None if it is not a JDK."""
    release = home / "release"
    if not (home / "bin" / "java").exists() or not (home / "bin" / "javac").exists():
        return None
    text = release.read_text(errors="replace") if release.exists() else ""
    m = re.search(r'JAVA_VERSION="(\d+)(?:\.(\d+))?', text)
    if not m:
        line = _first_line([str(home / "bin" / "java"), "-version"])
        m = re.search(r'version "(\d+)(?:\.(\d+))?', line)
        if not m:
            return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def find_jdk() -> Toolchain:
    """JAVA_HOME first; otherwise the newest JDK >= 21 in the usual places."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        home = Path(java_home)
        major = jdk_major(home)
        if major is None:
            raise HarnessError(f"JAVA_HOME={java_home} is not a JDK (no bin/java and bin/javac): "
                               f"point it at a JDK {MIN_JAVA} or newer")
        if major < MIN_JAVA:
            raise HarnessError(f"JAVA_HOME={java_home} is JDK {major}; virtual threads need JDK {MIN_JAVA} "
                               f"or newer: point JAVA_HOME at one (or unset it to search the usual places)")
        return _jdk(home, major)
    candidates: list[tuple[int, Path]] = []
    for pattern in JDK_SEARCH_GLOBS:
        for d in glob.glob(os.path.expanduser(pattern)):
            home = Path(d).resolve()
            major = jdk_major(home)
            if major is not None:
                candidates.append((major, home))
    on_path = shutil.which("javac")
    if on_path:
        home = Path(on_path).resolve().parent.parent
        major = jdk_major(home)
        if major is not None:
            candidates.append((major, home))
    good = sorted((c for c in candidates if c[0] >= MIN_JAVA), key=lambda c: (c[0], str(c[1])), reverse=True)
    if not good:
        seen = ", ".join(sorted({f"{h} (JDK {m})" for m, h in candidates})) or "none"
        raise HarnessError(f"no JDK {MIN_JAVA} or newer found (seen: {seen}): install one, e.g. the Debian "
                           f"package openjdk-21-jdk, or set JAVA_HOME")
    return _jdk(good[0][1], good[0][0])


def _jdk(home: Path, major: int) -> Toolchain:
    java = str(home / "bin" / "java")
    version = _first_line([java, "-version"])
    mvn = shutil.which("mvn")
    paths = {"java_home": str(home), "java": java, "major": str(major)}
    if mvn:
        paths["mvn"] = mvn
    return Toolchain("jdk", version, paths, env={"JAVA_HOME": str(home)})


FINDERS = {"go": find_go, "cargo": find_cargo, "jdk": find_jdk}


def find(name: str) -> Toolchain:
    return FINDERS[name]()
