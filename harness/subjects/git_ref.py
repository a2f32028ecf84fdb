"""Check out a git ref's workloads beside the working tree for `harness ab`."""

from __future__ import annotations

import io
import subprocess
import tarfile
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
