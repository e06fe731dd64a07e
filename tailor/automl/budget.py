"""The budget ledger: compute time is charged as it is spent, and billing never exceeds the budget.

Charged time is the wall time a device is held by a trial, times that device kind's calibration factor (1.0 unless
the operator sets one). A trial asks `exhausted` between steps and stops, keeping its best checkpoint; whatever a
last step overshoots is not billed (`billed` is capped at the budget).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


class BudgetExhausted(Exception):
    """Raised inside a trial's step loop when the ledger has nothing left."""


@dataclass
class BudgetLedger:
    budget_seconds: float
    factor: float = 1.0
    clock: Callable[[], float] = time.monotonic
    spent_seconds: float = 0.0
    _held_since: float | None = field(default=None, repr=False)

    @contextmanager
    def holding_device(self) -> Iterator[None]:
        """Charge the time spent inside the block (blocks do not nest)."""
        self._held_since = self.clock()
        try:
            yield
        finally:
            self.spent_seconds += (self.clock() - self._held_since) * self.factor
            self._held_since = None

    @property
    def used_seconds(self) -> float:
        """Charged so far, the block in progress included."""
        running = (self.clock() - self._held_since) * self.factor if self._held_since is not None else 0.0
        return self.spent_seconds + running

    @property
    def remaining_seconds(self) -> float:
        return max(0.0, self.budget_seconds - self.used_seconds)

    @property
    def exhausted(self) -> bool:
        return self.used_seconds >= self.budget_seconds

    def check(self) -> None:
        if self.exhausted:
            raise BudgetExhausted

    @property
    def billed_seconds(self) -> float:
        return min(self.spent_seconds, self.budget_seconds)
