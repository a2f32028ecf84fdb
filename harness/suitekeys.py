"""How one suite key is declared: its type, its default and the rule its value
must follow. The general sections live in config.py; each scenario and each
runtime descriptor declares its own keys with these, so adding either one
never touches config.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    kind: type | tuple[type, ...]
    default: Any
    check: Callable[[Any], bool] = lambda v: True
    rule: str = ""
    sweepable: bool = False  # a numeric key that --sweep may vary


def int_key(lo: int, hi: int, default: int) -> Key:
    return Key(int, default, lambda v: lo <= v <= hi, f"an integer in [{lo}, {hi}]", sweepable=True)


def num_key(lo: float, hi: float, default: float) -> Key:
    return Key((int, float), default, lambda v: lo <= v <= hi, f"a number in [{lo}, {hi}]", sweepable=True)


def optional_int_key(lo: int, hi: int) -> Key:
    """An integer that may be left out (None: the general setting applies)."""
    return Key((int, type(None)), None, lambda v: v is None or lo <= v <= hi, f"an integer in [{lo}, {hi}]")


# Every scenario's section may set its own trial counts (the others' stay those of [trials]).
ROUND_KEYS = {"trials": optional_int_key(1, 1000), "warmup_trials": optional_int_key(0, 100)}


def strlist_key(allowed: tuple[str, ...] | None, default: list[str]) -> Key:
    def ok(v: list) -> bool:
        return (
            bool(v)
            and all(isinstance(x, str) for x in v)
            and len(set(v)) == len(v)
            and (allowed is None or all(x in allowed for x in v))
        )

    rule = "a non-empty list of distinct strings" + (f" from {', '.join(allowed)}" if allowed else "")
    return Key(list, default, ok, rule)


def env_key() -> Key:
    return Key(
        dict, {}, lambda v: all(isinstance(x, str) for x in v.values()), "a table of strings (environment variables)"
    )
