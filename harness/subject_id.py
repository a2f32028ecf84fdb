"""A subject's id as a type: the runtime it is and, for a variant, the variant's name
(`go` is the runtime go; `go@1.24` its variant 1.24). The one place that knows how an id
is spelled, for the suite, the command line, the ratios, the gate and the readers."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError

SEPARATOR = "@"
NAME_CHARS = frozenset("._+-=")  # beside letters and digits, in a variant's name


@dataclass(frozen=True, order=True)
class SubjectId:
    runtime: str
    variant: str = ""  # "" for the runtime itself

    @classmethod
    def parse(cls, text: str) -> SubjectId:
        """`go` or `go@1.24` (the first @ separates: a variant's name may hold anything else allowed)."""
        runtime, _, variant = text.partition(SEPARATOR)
        return cls(runtime, variant)

    @classmethod
    def checked(cls, text: str, where: str) -> SubjectId:
        """A variant's id as a user wrote it: RUNTIME@NAME with a name of letters, digits and . _ + - = only."""
        sid = cls.parse(text)
        if not sid.runtime or not sid.variant:
            raise HarnessError(f"{where}: name it RUNTIME@NAME (e.g. go@1.24)")
        if not all(c.isalnum() or c in NAME_CHARS for c in sid.variant):
            raise HarnessError(f"{where}: its name after '@' must be letters, digits and . _ + - = only")
        return sid

    @property
    def is_variant(self) -> bool:
        return bool(self.variant)

    def __str__(self) -> str:
        return f"{self.runtime}{SEPARATOR}{self.variant}" if self.variant else self.runtime


def runtime_of(subject: str) -> str:
    """The runtime a subject's id names (go for go@1.24)."""
    return SubjectId.parse(subject).runtime
