"""Column checks: one field of every record of a list, checked at C speed when it is clean.

A clean column (every value of the right type) is checked with a few passes in C (`set(map(type, ...))`, numpy);
only a column with something wrong in it is walked in Python, to name each bad record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress, count, repeat
from operator import attrgetter, is_not, not_
from typing import Any

import numpy as np
from msgspec import UNSET

from ._decode import describe
from ._problems import Problem, ProblemCode

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class _NotAnObject:
    """Stands for the fields of an entry that was not an object (reported once, when it was decoded)."""


NOT_AN_OBJECT = _NotAnObject()


@dataclass(slots=True)
class Collector:
    """Collects the problems of one file; `at` builds a JSON path like `images[12].width`."""

    file: str | None
    section: str
    problems: list[Problem] = field(default_factory=list)
    offset: int = 0  # index of the current chunk's first record in the whole list

    def at(self, index: int, name: str | None = None) -> str:
        return f"{self.section}[{index + self.offset}]" + (f".{name}" if name else "")

    def add(self, code: ProblemCode, index: int, name: str | None, message: str) -> None:
        self.problems.append(Problem(code, self.at(index, name), message, self.file))


def column(records: list[Any], name: str) -> list[Any]:
    if None in records:  # only after the generic decode, for entries that were not objects
        return [NOT_AN_OBJECT if r is None else getattr(r, name) for r in records]
    return list(map(attrgetter(name), records))


def _absent(value: Any) -> str | None:
    if value is UNSET:
        return "is missing"
    if value is None:
        return "is null"
    return None


def odd_positions(values: list[Any], wanted: type) -> list[int]:
    """Positions of the values that are not exactly of type `wanted` (bool is not int), at C speed."""
    return list(compress(count(), map(is_not, map(type, values), repeat(wanted))))


def int_column(
    values: list[Any],
    out: Collector,
    name: str,
    *,
    minimum: int,
    meaning: str,
    below_code: ProblemCode,
) -> tuple[np.ndarray, np.ndarray]:
    """Integers of one field, with a mask of the usable ones; reports missing, non-integer and too small values."""
    n = len(values)
    ok = np.ones(n, dtype=bool)
    if set(map(type, values)) != {int}:
        # Only the odd values are looked at one by one; the rest still goes through numpy.
        values = list(values)
        for i in odd_positions(values, int):
            value = values[i]
            if value is not NOT_AN_OBJECT:
                if (why := _absent(value)) is not None:
                    out.add(ProblemCode.MISSING_FIELD, i, name, f"`{name}` {why}; it is required ({meaning})")
                else:
                    out.add(ProblemCode.WRONG_TYPE, i, name, f"{meaning} must be an integer, got {describe(value)}")
            values[i] = 0
            ok[i] = False
    try:
        array = np.fromiter(values, dtype=np.int64, count=n)
    except OverflowError:  # an integer beyond 64 bits: rare enough to find one by one
        for i in [i for i, value in enumerate(values) if not _INT64_MIN <= value <= _INT64_MAX]:
            out.add(below_code, i, name, f"{meaning} is out of range: {values[i]}")
            values[i] = 0
            ok[i] = False
        array = np.fromiter(values, dtype=np.int64, count=n)
    low = ok & (array < minimum)
    if low.any():
        for i in np.flatnonzero(low).tolist():
            out.add(below_code, i, name, f"{meaning} must be at least {minimum}, got {values[i]}")
        ok &= ~low
    return array, ok


def str_column(values: list[Any], out: Collector, name: str, *, meaning: str) -> np.ndarray:
    """Mask of the values that are non-empty strings; reports the others."""
    ok = np.ones(len(values), dtype=bool)
    if set(map(type, values)) == {str} and all(map(str.strip, values)):
        return ok
    odd = odd_positions(values, str)
    strings = list(values)
    for i in odd:
        strings[i] = "-"
    for i in sorted(odd + list(compress(count(), map(not_, map(str.strip, strings))))):
        value = values[i]
        ok[i] = False
        if value is NOT_AN_OBJECT:
            continue
        if (why := _absent(value)) is not None:
            out.add(ProblemCode.MISSING_FIELD, i, name, f"`{name}` {why}; it is required ({meaning})")
        elif type(value) is not str:
            out.add(ProblemCode.WRONG_TYPE, i, name, f"{meaning} must be a string, got {describe(value)}")
        else:
            out.add(ProblemCode.EMPTY_NAME, i, name, f"{meaning} must not be empty")
    return ok


def duplicates(keys: np.ndarray, ok: np.ndarray) -> list[tuple[int, int]]:
    """(position, position of the first record with the same key) for every repeat among the usable records."""
    positions = np.flatnonzero(ok)
    if positions.size < 2:
        return []
    used = keys[positions]
    if (used[1:] > used[:-1]).all():  # ids are usually written in increasing order: no sort needed then
        return []
    order = np.argsort(used, kind="stable")
    ranked = used[order]
    repeat = np.flatnonzero(ranked[1:] == ranked[:-1]) + 1
    if repeat.size == 0:
        return []
    # The first record of each run of equal keys is the one the repeats point back to.
    run_start = np.maximum.accumulate(np.where(np.r_[True, ranked[1:] != ranked[:-1]], np.arange(ranked.size), 0))
    return [
        (int(positions[order[r]]), int(positions[order[run_start[r]]])) for r in repeat.tolist()
    ]
