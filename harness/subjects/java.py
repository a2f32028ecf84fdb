"""Java virtual threads: the workload in workloads/java (JDK 21+, Helidon SE 4),
built with Maven and a JDK found on this host — never the machine's default
Java 17, which has no virtual threads — or in the toolchain-java image."""

from __future__ import annotations

import glob
import os
import re
import shutil
from pathlib import Path

from harness.errors import HarnessError
from harness.subjects.profile_formats import folded_reader
from harness.subjects.runtime import WORKLOADS, BaseImageSpec, BuildStep, ImageRecipe, Runtime, Toolchain, first_line
from harness.suitekeys import Key, env_key

MIN_JAVA = 21
JDK_SEARCH_GLOBS = (
    "/usr/lib/jvm/*",
    "/usr/java/*",
    "/opt/java/*",
    "/opt/jdk*",
    "/Library/Java/JavaVirtualMachines/*/Contents/Home",
    "~/.sdkman/candidates/java/*",
    "~/.jdks/*",
)
COLLECTORS = {
    "G1": "-XX:+UseG1GC",
    "Serial": "-XX:+UseSerialGC",
    "Parallel": "-XX:+UseParallelGC",
    "Z": "-XX:+UseZGC",
    "Shenandoah": "-XX:+UseShenandoahGC",
    "Epsilon": "-XX:+UseEpsilonGC",
}


def jdk_major(home: Path) -> int | None:
    """The JDK's major version from its `release` file, or None if it is not a JDK."""
    release = home / "release"
    if not (home / "bin" / "java").exists() or not (home / "bin" / "javac").exists():
        return None
    text = release.read_text(errors="replace") if release.exists() else ""
    m = re.search(r'JAVA_VERSION="(\d+)(?:\.(\d+))?', text)
    if not m:
        line = first_line([str(home / "bin" / "java"), "-version"])
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
            raise HarnessError(
                f"JAVA_HOME={java_home} is not a JDK (no bin/java and bin/javac): point it at a JDK {MIN_JAVA} or newer"
            )
        if major < MIN_JAVA:
            raise HarnessError(
                f"JAVA_HOME={java_home} is JDK {major}; virtual threads need JDK {MIN_JAVA} or newer: point "
                "JAVA_HOME at one (or unset it to search the usual places)"
            )
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
        raise HarnessError(
            f"no JDK {MIN_JAVA} or newer found (seen: {seen}): install one, e.g. the Debian package "
            "openjdk-21-jdk, or set JAVA_HOME"
        )
    return _jdk(good[0][1], good[0][0])


def _jdk(home: Path, major: int) -> Toolchain:
    java = str(home / "bin" / "java")
    version = first_line([java, "-version"])
    mvn = shutil.which("mvn")
    paths = {"java_home": str(home), "java": java, "major": str(major)}
    if mvn:
        paths["mvn"] = mvn
    return Toolchain("jdk", version, paths, env={"JAVA_HOME": str(home)}, where=str(home))


def build_steps(tc: Toolchain, out: Path, src: Path) -> list[BuildStep]:
    mvn = tc.paths.get("mvn")
    if not mvn:
        raise HarnessError(
            "Maven (mvn) not found on PATH: install it (Debian package maven) to build the Java workload"
        )
    return [BuildStep([mvn, "-B", "-q", "package", "-DskipTests"], src, dict(tc.env))]


def launch(artifact: Path, workers: int, settings: dict, tc: Toolchain | None) -> list[str]:
    assert tc is not None
    # W must reach the virtual-thread scheduler before its first use: only a JVM flag does that.
    return [
        tc.paths["java"],
        f"-Djdk.virtualThreadScheduler.parallelism={workers}",
        COLLECTORS[settings.get("gc", "G1")],
        *settings.get("jvm_flags", []),
        "-jar",
        str(artifact / "workload.jar"),
    ]


TOOLCHAIN_IMAGE = BaseImageSpec(
    "toolchain-java",
    "toolchain",
    "apt",
    lambda a: ["ca-certificates", "openjdk-21-jdk-headless", "maven"],
    host_cas=True,
)
RUNTIME_IMAGE = BaseImageSpec(
    "runtime-java",
    "runtime",
    "extract",
    lambda a: ["base-files", "libgcc-s1", "openjdk-21-jre-headless"],
    env=lambda a: {"PATH": f"/usr/lib/jvm/java-21-openjdk-{a}/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
)

RUNTIME = Runtime(
    name="java",
    colour="#009E73",  # Okabe-Ito bluish green: never confused with Go's blue
    find_toolchain=find_jdk,
    source=WORKLOADS / "java",
    source_globs=("src/main/**/*.java", "pom.xml"),
    build_steps=build_steps,
    artifacts=("target/workload.jar", "target/libs"),
    launch=launch,
    workers_setting="-Djdk.virtualThreadScheduler.parallelism (JVM flag set by the harness)",
    shipped_runtime=lambda tc: Path(tc.paths["java_home"]),  # the JDK the harness found (a JRE would be smaller)
    suite_keys={
        "env": env_key(),
        # chosen explicitly: on one CPU the JVM's ergonomics would silently pick Serial
        "gc": Key(str, "G1", lambda v: v in COLLECTORS, f"one of {', '.join(COLLECTORS)}"),
        "jvm_flags": Key(list, [], lambda v: all(isinstance(x, str) for x in v), "a list of strings"),
    },
    image=ImageRecipe(
        {"TOOLCHAIN_IMAGE": TOOLCHAIN_IMAGE, "RUNTIME_IMAGE": RUNTIME_IMAGE},
        lambda arch: {},
        ("sh", "-c", "java -version 2>&1 | head -1; mvn -v 2>&1 | head -1"),
        toolchain_paths={"java": "java"},  # on the runtime image's PATH
    ),
    profile_reader=folded_reader("jfr"),  # JFR's execution samples, folded by the workload beside cpu.jfr
)
