"""Errors that aligndepth_lab reports to users, each printed as one line (METRICS.md 1.5).

* :class:`InputError` -- the input is invalid (exit code 1).  It carries :class:`Problem`\\ s; the
  command line prints one line per (file, field, reason), naming the first 5 locations (lines of a
  JSON Lines file, examples of a ``torch.save`` file) and the count of the rest.
* :class:`UsageError` -- the options do not fit (exit code 2).

Both subclass :class:`ValueError`, so code written against the earlier ``ValueError`` still catches
them.  The format follows the TypeScript kit's: ``FILE:LINE: field "NAME": message``.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple


class Problem(NamedTuple):
    """One problem at one place.  ``line`` is 1-based, or None for a whole-file problem."""

    file: str
    line: Optional[int]
    field: Optional[str]
    reason: str
    message: str


class InputError(ValueError):
    """Invalid input (exit code 1); ``problems`` holds every problem found, in input order."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: List[Problem] = list(problems)
        lines = format_problems(self.problems)
        super().__init__(lines[0] if len(lines) == 1 else "; ".join(lines))

    @classmethod
    def at(cls, file: str, message: str, *, line: Optional[int] = None, field: Optional[str] = None,
           reason: str = "invalid") -> "InputError":
        """An error with one problem."""
        return cls([Problem(str(file), line, field, reason, message)])


class UsageError(ValueError):
    """Options that do not fit together or cannot be parsed (exit code 2)."""


MAX_LOCATIONS = 5


def _where(file: str, line: Optional[int], field: Optional[str]) -> str:
    head = file if line is None else f"{file}:{line}"
    return f"{head}: " if field is None else f'{head}: field "{field}": '


def format_problems(problems: Iterable[Problem]) -> List[str]:
    """One line per (file, field, reason), in order of first occurrence.

    A group with one location prints as ``FILE:LINE: field "F": message``; a larger group adds
    ``(N lines: 4, 7, 10, 12, 15 and 3 more)``, naming its first 5 locations.
    """
    groups: Dict[Tuple[str, Optional[str], str], List[Problem]] = {}
    for p in problems:
        groups.setdefault((p.file, p.field, p.reason), []).append(p)
    out = []
    for group in groups.values():
        first = group[0]
        text = _where(first.file, first.line, first.field) + first.message
        lines = [p.line for p in group if p.line is not None]
        if len(group) > 1:
            shown = ", ".join(str(n) for n in lines[:MAX_LOCATIONS])
            more = f" and {len(lines) - MAX_LOCATIONS} more" if len(lines) > MAX_LOCATIONS else ""
            text += f" ({len(group)} lines: {shown}{more})" if lines else f" ({len(group)} times)"
        out.append(text)
    return out
