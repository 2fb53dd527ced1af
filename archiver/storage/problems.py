"""What verification finds: a ``VerifyProblem`` per failed check, a ``VerifyReport`` in all.

The check names a problem can carry are listed in ``archiver.storage.verify``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archiver.models import _Serialisable

__all__ = ["VerifyProblem", "VerifyReport"]


@dataclass(frozen=True)
class VerifyProblem(_Serialisable):
    """One failed check (or, in ``VerifyReport.notes``, one fact worth knowing)."""

    file: str
    record: str | None
    check: str
    expected: str | None
    actual: str | None
    message: str


@dataclass(frozen=True)
class VerifyReport(_Serialisable):
    """What was checked and what failed; ``ok`` is False on any problem (notes never fail).

    ``mode`` is ``plain`` (each file's bytes against the manifest's sha256 and size) or
    ``deep`` (every record read too); ``bytes_checked`` counts the stored bytes read.
    """

    root: str
    files_checked: int
    records_checked: int
    problems: tuple[VerifyProblem, ...] = ()
    notes: tuple[VerifyProblem, ...] = ()
    mode: str = "deep"
    bytes_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **super().to_dict()}
