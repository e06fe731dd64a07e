"""The budget ledger, on a clock the test moves."""

from __future__ import annotations

import pytest

from tailor.automl.budget import BudgetExhausted, BudgetLedger


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_only_time_holding_the_device_is_charged() -> None:
    clock = Clock()
    ledger = BudgetLedger(10.0, clock=clock)
    clock.now = 5.0  # loading images: not a trial
    with ledger.holding_device():
        clock.now = 8.0
    assert ledger.spent_seconds == 3.0 and ledger.remaining_seconds == 7.0 and not ledger.exhausted


def test_calibration_factor_multiplies_the_charge() -> None:
    clock = Clock()
    ledger = BudgetLedger(10.0, factor=2.0, clock=clock)
    with ledger.holding_device():
        clock.now = 3.0
        assert ledger.used_seconds == 6.0  # the block in progress counts already
    assert ledger.spent_seconds == 6.0


def test_billing_never_exceeds_the_budget_even_when_a_step_overshoots() -> None:
    clock = Clock()
    ledger = BudgetLedger(10.0, clock=clock)
    with ledger.holding_device():
        clock.now = 9.0
        ledger.check()
        clock.now = 12.5  # the last step ran past the budget
        with pytest.raises(BudgetExhausted):
            ledger.check()
    assert ledger.exhausted and ledger.spent_seconds == 12.5
    assert ledger.billed_seconds == 10.0
