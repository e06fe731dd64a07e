"""The budget ledger, on a clock the test moves."""

from __future__ import annotations

import multiprocessing
import threading
import time

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


def test_devices_held_at_once_spend_the_budget_as_fast_as_their_number() -> None:
    clock = Clock()
    ledger = BudgetLedger(10.0, clock=clock, devices=2)
    first, second = ledger.for_device(0), ledger.for_device(1)
    with first.holding_device():
        clock.now = 1.0
        with second.holding_device():
            clock.now = 3.0
            assert ledger.used_seconds == 5.0 and ledger.running == 2
            assert first.own_seconds == 3.0 and second.own_seconds == 2.0
        clock.now = 4.0
    assert ledger.spent_seconds == 6.0 and ledger.remaining_seconds == 4.0 and ledger.running == 0
    with pytest.raises(RuntimeError, match="held already"), first.holding_device(), first.holding_device():
        pass


def _spend_until_exhausted(ledger: BudgetLedger, step_seconds: float, steps: list) -> None:
    """A trial on one device: steps until the ledger says the budget is spent (what a trial's step() does)."""
    with ledger.holding_device():
        try:
            while True:
                ledger.check()
                time.sleep(step_seconds)
                steps.append(ledger.slot)
        except BudgetExhausted:
            pass


def _check_concurrent_spending(ledger: BudgetLedger, devices: int, step_seconds: float) -> None:
    assert ledger.exhausted and ledger.running == 0
    # Every device stopped within about a step of the budget's end, and none of that overshoot is billed.
    assert ledger.budget_seconds <= ledger.spent_seconds <= ledger.budget_seconds + devices * (step_seconds + 0.1)
    assert ledger.billed_seconds == ledger.budget_seconds
    # They spent it side by side, each about its share.
    for slot in range(devices):
        assert ledger.for_device(slot).own_seconds > 0.5 * ledger.budget_seconds / devices


def test_concurrent_trials_on_several_devices_never_bill_more_than_the_budget() -> None:
    devices, step = 4, 0.005
    ledger = BudgetLedger(0.4, devices=devices)
    steps: list = []
    threads = [threading.Thread(target=_spend_until_exhausted, args=(ledger.for_device(k), step, steps))
               for k in range(devices)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check_concurrent_spending(ledger, devices, step)
    assert set(steps) == set(range(devices))


def test_trial_processes_share_one_ledger() -> None:
    devices, step = 2, 0.01
    ledger = BudgetLedger(0.6, devices=devices, shared=True)
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_spend_in_a_process, args=(ledger, k, step)) for k in range(devices)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    _check_concurrent_spending(ledger, devices, step)


def _spend_in_a_process(ledger: BudgetLedger, slot: int, step_seconds: float) -> None:
    _spend_until_exhausted(ledger.for_device(slot), step_seconds, [])
