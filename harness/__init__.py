"""Cross-runtime concurrency benchmark harness (see README.md and ../shared/DESIGN.md)."""

__version__ = "0.1.0"
