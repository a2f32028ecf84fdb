"""Build each runtime's workload into build/<runtime>-<hash>/, cached by content.

The cache key is a hash of the workload's sources, the toolchain's version and
the build commands, so a second `make bench` rebuilds nothing, and a new
toolchain or a changed source rebuilds exactly that runtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.runtimes import ROOT, Runtime, copy_artifacts
from harness.toolchains import Toolchain

BUILD_DIR = ROOT / "build"
MARKER = "build.json"


@dataclass
class Built:
    runtime: str
    artifact_dir: Path
    cache_key: str
    cached: bool
    toolchain: Toolchain | None

    def to_json(self) -> dict:
        return {"artifact_dir": str(self.artifact_dir), "cache_key": self.cache_key, "cached": self.cached,
                "toolchain": self.toolchain.to_json() if self.toolchain else None}


def source_files(rt: Runtime) -> list[Path]:
    assert rt.source is not None
    files = {p for g in rt.source_globs for p in rt.source.glob(g) if p.is_file()}
    return sorted(files)


def cache_key(rt: Runtime, tc: Toolchain) -> str:
    h = hashlib.sha256()
    h.update(f"{rt.name}\0{tc.version}\0".encode())
    for step in rt.build_steps(tc, Path("/OUT"), Path("/SRC")):
        h.update(json.dumps([Path(step.argv[0]).name, *step.argv[1:]]).encode())
    for f in source_files(rt):
        h.update(str(f.relative_to(rt.source)).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def build(rt: Runtime, tc: Toolchain | None, log=None) -> Built:
    if rt.source is None:  # prebuilt external workload
        return Built(rt.name, ROOT, "external", True, None)
    assert tc is not None
    key = cache_key(rt, tc)
    out = BUILD_DIR / f"{rt.name}-{key}"
    if (out / MARKER).exists():
        return Built(rt.name, out, key, True, tc)
    tmp = BUILD_DIR / f".{rt.name}-{key}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for step in rt.build_steps(tc, tmp, rt.source):
            env = {**os.environ, **step.env}
            proc = subprocess.run(step.argv, cwd=step.cwd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
                if log:
                    log("\n".join(tail))
                raise HarnessError(f"building {rt.name} failed ({' '.join(step.argv[:3])} ... exit "
                                   f"{proc.returncode}); last line: {tail[-1] if tail else 'no output'}")
        copy_artifacts(rt, tmp)
        (tmp / MARKER).write_text(json.dumps({"runtime": rt.name, "key": key, "toolchain": tc.to_json()}))
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Built(rt.name, out, key, False, tc)
