"""Cross-runtime concurrency benchmark harness (see README.md and docs/)."""

__version__ = "0.1.0"
