"""Check out a git ref's workloads beside the working tree (`harness ab`, `harness run --ref`), and
make a commit with a change planted in it (the calibration scripts)."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from harness.errors import HarnessError

AB_DIR = "build/ab"


def checkout(ref: str, root: Path) -> tuple[str, Path]:
    """Extract `workloads/` and `loadgen/` of `ref` into build/ab/<sha>/ (once)."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise HarnessError(f"--base {ref!r} is not a commit of this repository: name a branch, tag or sha") from None
    tree = root / AB_DIR / sha
    marker = tree / ".complete"
    if not marker.exists():
        try:
            archive = subprocess.run(
                ["git", "archive", "--format=tar", sha, "workloads", "loadgen"],
                cwd=root,
                capture_output=True,
                check=True,
            ).stdout
        except subprocess.CalledProcessError as e:
            raise HarnessError(f"cannot extract {ref} ({sha[:8]}): {e.stderr.decode().strip()}") from None
        tree.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        marker.touch()
    return sha, tree


def planted(base: str, root: Path, path: str, old: str, new: str, message: str) -> str:
    """A commit of `base` whose file `path` has `old` replaced by `new`, on no branch (nothing in the
    working tree or the refs changes): a known change to measure, by its sha."""

    def git(*args: str, env: dict | None = None, stdin: str | None = None) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, env=env, input=stdin
        ).stdout.strip()

    source = git("show", f"{base}:{path}")
    if old not in source:
        raise HarnessError(f"{base[:8]}: {path} has no {old!r} to plant a change in")
    blob = git("hash-object", "-w", "--stdin", stdin=source.replace(old, new))
    who = {"GIT_AUTHOR_NAME": "planted", "GIT_AUTHOR_EMAIL": "planted@localhost"}
    who |= {"GIT_COMMITTER_NAME": "planted", "GIT_COMMITTER_EMAIL": "planted@localhost"}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **who, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git("read-tree", base, env=env)
        git("update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = git("write-tree", env=env)
        return git("commit-tree", tree, "-p", git("rev-parse", base), "-m", message, env=env)
