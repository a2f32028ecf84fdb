"""Where the repository is: the workloads' sources, the build cache, the results directory."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
