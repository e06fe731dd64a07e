"""The budget ledger: compute time is charged as it is spent, and billing never exceeds the budget.

Charged time is the wall time a device is held by a trial, times that device kind's calibration factor (1.0 unless
the operator sets one), summed over the devices the training holds: trials on k devices at once spend the budget k
times as fast. Each device has its own account (a slot); `for_device` gives the ledger as a trial on one device sees
it. What every trial reads (`used_seconds`, `exhausted`) counts every device's charge, the blocks in progress
included, so that all of them see the end of the budget at the same moment and stop at their next step, keeping
their best checkpoint; whatever those last steps overshoot is not billed (`billed_seconds` is capped at the budget).

Trials of the same training on other workers (automl/joining.py) charge their own ledgers; what they have charged
comes in as one figure, `elsewhere` (set_elsewhere), counted in what every trial reads and in the bill.

A ledger made with `shared=True` keeps its accounts in shared memory, for trial processes on other devices (started
with multiprocessing's spawn; the ledger travels to them as an argument of the process). One clock serves them all:
`time.monotonic` is the same clock in every process of a machine. There is no lock: each account is written by the
one trial that holds its device (or, once that trial's process is dead, by `release`), and a block closes by first
leaving the running figure and then adding to the spent one, so that a reader in between sees a little less, never
more, than was used: a trial that reads then may take one more step, whose time is not billed past the budget, but
none is stopped early. (A lock across processes would stay taken by a process killed while holding it.)
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import TailorError


class BudgetExhausted(TailorError):
    """Raised inside a trial's step loop when the ledger has nothing left."""


class BudgetLedger:
    def __init__(
        self, budget_seconds: float, factor: float = 1.0, clock: Callable[[], float] = time.monotonic, *,
        devices: int = 1, shared: bool = False,
    ):
        if devices < 1:
            raise ValueError("a ledger needs at least one device")
        self.budget_seconds = budget_seconds
        self.factor = factor
        self.clock = clock
        self.devices = devices
        self.slot = 0  # the device this view of the ledger charges (for_device)
        if shared:
            context = multiprocessing.get_context("spawn")
            self._spent = context.RawArray("d", devices)
            self._since = context.RawArray("d", [math.nan] * devices)  # NaN: the device is not held
            self._elsewhere = context.RawArray("d", 1)
        else:
            self._spent, self._since, self._elsewhere = [0.0] * devices, [math.nan] * devices, [0.0]

    def for_device(self, slot: int) -> BudgetLedger:
        """The same ledger, charging device `slot` (0 .. devices - 1)."""
        if not 0 <= slot < self.devices:
            raise ValueError(f"device slot {slot} of a ledger for {self.devices} device(s)")
        view = copy.copy(self)  # the accounts are shared, not copied
        view.slot = slot
        return view

    @contextmanager
    def holding_device(self) -> Iterator[None]:
        """Charge this device the time spent inside the block (blocks on one device do not nest)."""
        if not math.isnan(self._since[self.slot]):
            raise RuntimeError(f"device slot {self.slot} is held already")
        self._since[self.slot] = self.clock()
        try:
            yield
        finally:
            self.release(self.slot)

    def release(self, slot: int) -> None:
        """Close device `slot`'s block in progress, if any, charging it up to now (for a trial process that died
        inside its block)."""
        since = self._since[slot]
        if not math.isnan(since):
            held = (self.clock() - since) * self.factor
            self._since[slot] = math.nan
            self._spent[slot] += held

    def set_elsewhere(self, seconds: float) -> None:
        """What the other workers joined to this training have charged so far (their blocks in progress included)."""
        self._elsewhere[0] = seconds

    @property
    def elsewhere_seconds(self) -> float:
        return self._elsewhere[0]

    @property
    def used_seconds(self) -> float:
        """Charged so far on every device, the blocks in progress and the other workers' charges included."""
        return self.local_seconds + self._elsewhere[0]

    @property
    def local_seconds(self) -> float:
        """Charged so far on this ledger's own devices, the blocks in progress included."""
        spent = sum(self._spent[:])  # read first: a block that closes meanwhile is missed, never counted twice
        now = self.clock()
        running = sum(now - since for since in self._since[:] if not math.isnan(since))
        return spent + running * self.factor

    @property
    def own_seconds(self) -> float:
        """Charged so far to this view's device, its block in progress included."""
        spent = self._spent[self.slot]
        since = self._since[self.slot]
        running = 0.0 if math.isnan(since) else (self.clock() - since) * self.factor
        return spent + running

    @property
    def running(self) -> int:
        """Devices inside a block now."""
        return sum(not math.isnan(since) for since in self._since[:])

    @property
    def spent_seconds(self) -> float:
        """Charged by the blocks that have closed, on every device, and by the other workers joined to the training
        (overshoot included: see billed_seconds)."""
        return sum(self._spent[:]) + self._elsewhere[0]

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
