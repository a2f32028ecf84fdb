"""Export a results file to the formats users keep their history in: one format
per file behind one small interface (as hyperfine's exporters sit behind one
trait); the command line offers one flag per registered format."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.output.exports.bencher import Bencher
from harness.output.exports.github_benchmark import GithubBenchmark
from harness.output.exports.pyperf import Pyperf

if TYPE_CHECKING:
    from harness.record.model import Results


class Exporter(Protocol):
    flag: str  # the command line's --flag
    metavar: str
    help: str

    def write(self, doc: Results, dest: Path) -> str:
        """Write the format to `dest`; what was written, in one line."""
        ...


EXPORTERS: tuple[Exporter, ...] = (Pyperf(), Bencher(), GithubBenchmark())
