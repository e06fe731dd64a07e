"""Trials on several devices at once: one process per device (multiprocessing's spawn), the Optuna study kept by the
process that coordinates the training.

The coordinator runs one thread per device, each calling `study.optimize(..., n_trials=1)`; its objective hands the
trial to that device's process (`TrialProcesses.run`) and answers the trial's calls from there (`suggest_*`,
`report`, `should_prune`, `set_user_attr`) on the real Optuna trial, so that sampling and pruning stay Optuna's and
the study sees the trials of every device. A trial process may call other objects of the coordinator's too (named
`targets`, e.g. a feature cache, so that features computed on one device serve the others).

A trial process is started with a picklable `start(setup, device, slot, relay, should_stop)` that returns the
function it runs each trial with (`run_trial(trial) -> result`); results and exceptions travel back pickled
(standard pickle: tensors are copied, not shared). It stops when the coordinator's `stop` event is set (cancels) or
the coordinator is gone, and exits when the coordinator closes it.

`optimize` is the coordinator's loop over them, shared by the classifier's search and the detector's exploration:
one thread per device asking the study for trials while the caller's stopping rule allows, the results accepted one
at a time, a cancel passed on to every process.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import pickle
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import optuna

from ..errors import InternalFailure
from .failures import TrainingCancelled

log = logging.getLogger(__name__)

CLOSE_SECONDS = 10.0  # a trial process told to close is terminated after this long
POLL_SECONDS = 0.5  # how often the coordinator of trials on several devices looks for a cancel and reports progress


class TrialProcessDied(InternalFailure):
    """A trial process ended in the middle of a trial (killed, out of memory, a crash in native code)."""


def _send(conn: Connection, message: tuple) -> None:
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _receive(conn: Connection) -> tuple:
    return pickle.loads(conn.recv_bytes())


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a RuntimeError with its traceback."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return RuntimeError(f"in a trial process: {text}")


class Relay:
    """A trial process's side of its pipe: calls on the coordinator's objects."""

    def __init__(self, conn: Connection):
        self._conn = conn

    def call(self, target: str, method: str, *args: Any, **kwargs: Any) -> Any:
        _send(self._conn, ("call", target, method, args, kwargs))
        kind, value = _receive(self._conn)
        if kind == "raised":
            raise value
        return value


class Remote:
    """Stands for one of the coordinator's objects in a trial process: its methods run there; `attributes` are
    plain values known here (a trial's `number`)."""

    def __init__(self, relay: Relay, target: str, **attributes: Any):
        self._relay, self._target = relay, target
        self.__dict__.update(attributes)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return functools.partial(self._relay.call, self._target, name)


Start = Callable[[Any, str, int, Relay, Callable[[], bool]], Callable[[Any], Any]]


def _serve(conn: Connection, start: Start, setup: Any, device: str, slot: int, threads: int, stop) -> None:
    """A trial process: trials in, results out, until the coordinator closes the pipe."""
    import torch

    torch.set_num_threads(threads)
    coordinator = os.getppid()

    def should_stop() -> bool:
        return stop.is_set() or os.getppid() != coordinator

    relay = Relay(conn)
    run_trial = start(setup, device, slot, relay, should_stop)
    while True:
        try:
            message = _receive(conn)
        except (EOFError, OSError):
            return
        if message[0] == "close":
            return
        trial = Remote(relay, "trial", number=message[1])
        try:
            reply: tuple = ("returned", run_trial(trial))
        except BaseException as exc:  # every ending of the trial goes back to the coordinator, which decides
            reply = ("raised", _portable(exc))
        _send(conn, reply)


@dataclass
class _Slot:
    device: str
    process: multiprocessing.process.BaseProcess
    conn: Connection


class TrialProcesses:
    """One trial process per device; `run(slot, trial, targets)` runs a trial on device `slot`."""

    def __init__(self, devices: Sequence[str], start: Start, setup: Any, *, threads: int = 1):
        context = multiprocessing.get_context("spawn")  # no fork: the coordinator holds threads and connections
        self.devices = tuple(devices)
        self.stop = context.Event()
        self._slots: list[_Slot] = []
        try:
            for slot, device in enumerate(self.devices):
                parent, child = context.Pipe()
                process = context.Process(
                    target=_serve, args=(child, start, setup, device, slot, threads, self.stop),
                    name=f"tailor-trial-{device}", daemon=True,
                )
                process.start()
                child.close()  # the coordinator keeps its end only: a process that dies is an end of file here
                self._slots.append(_Slot(device, process, parent))
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self._slots)

    def run(self, slot: int, trial: Any, targets: dict[str, Any]) -> Any:
        """Run `trial` (an optuna.Trial) on device `slot`; returns what the process's run_trial returned, or raises
        what it raised (TrialProcessDied when the process ended)."""
        chosen = self._slots[slot]
        objects = {"trial": trial, **targets}
        try:
            _send(chosen.conn, ("trial", trial.number))
            while True:
                message = _receive(chosen.conn)
                if message[0] == "returned":
                    return message[1]
                if message[0] == "raised":
                    raise message[1]
                _, target, method, args, kwargs = message
                try:
                    if method.startswith("_"):
                        raise AttributeError(method)
                    reply: tuple = ("ok", getattr(objects[target], method)(*args, **kwargs))
                except Exception as exc:  # raised in the trial process, where the call was made
                    reply = ("raised", _portable(exc))
                _send(chosen.conn, reply)
        except (EOFError, OSError):
            chosen.process.join(CLOSE_SECONDS)
            raise TrialProcessDied(
                f"the trial process on {chosen.device} ended during trial {trial.number} "
                f"(exit code {chosen.process.exitcode})"
            ) from None

    def close(self) -> None:
        """Ask every process to exit (they finish their trial first: set `stop` to cut it short), then wait."""
        for chosen in self._slots:
            try:
                _send(chosen.conn, ("close",))
            except (OSError, ValueError):
                pass
        for chosen in self._slots:
            chosen.process.join(CLOSE_SECONDS)
            if chosen.process.is_alive():
                log.warning("the trial process on %s did not exit: terminated", chosen.device)
                chosen.process.terminate()
                chosen.process.join(CLOSE_SECONDS)
            chosen.conn.close()
        self._slots = []


def log_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    # Optuna sets a trial's start whenever it sets its end: testing the start too is for the types (both Optional).
    seconds = ((trial.datetime_complete - trial.datetime_start).total_seconds()
               if trial.datetime_complete and trial.datetime_start else 0.0)
    log.info("trial %d %s in %.1f s: %s %s", trial.number, trial.state.name.lower(), seconds, trial.value, trial.params)


def tell(
    study: optuna.Study, trial: optuna.Trial, objective: Callable[[], float],
    catch: tuple[type[BaseException], ...] = (),
) -> optuna.trial.FrozenTrial:
    """What study.optimize does with one trial's ending (`catch` as its argument of that name)."""
    try:
        value = objective()
    except optuna.TrialPruned:
        return study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    except catch as exc:
        log.warning("trial %d failed: %s", trial.number, exc)
        return study.tell(trial, state=optuna.trial.TrialState.FAIL)
    except BaseException:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    return study.tell(trial, value)


def optimize(
    study: optuna.Study,
    processes: TrialProcesses,
    *,
    searching: Callable[[int], bool],
    accept: Callable[[Any], float],
    should_stop: Callable[[], bool],
    on_ask: Callable[[optuna.Trial], None] = lambda trial: None,
    on_poll: Callable[[], None] = lambda: None,
    on_died: Callable[[int], None] = lambda slot: None,
    targets: dict[str, Any] | None = None,
    catch: tuple[type[BaseException], ...] = (),
) -> None:
    """The study's trials on `processes`, one thread per device, each asking for its next trial while
    `searching(slot)` and running it on its device's process; `accept(result)` takes what a trial returned and gives the trial's
    value. Asks (`on_ask` after each) and accepts run one at a time, under one lock. This thread meanwhile calls
    `on_poll` and looks for a cancel every POLL_SECONDS: `should_stop()` sets `processes.stop`, which every process
    sees at its next step, and TrainingCancelled is raised once they have all ended. `on_died(slot)` is told of a
    process that ended during a trial (to close its device's block in the ledger). The first failure stops the
    other devices' trials and is raised. Trials are asked for one at a time (ask and tell, not optimize): on
    SQLite, which has no row locks, two threads asking at once could both take the same enqueued trial."""
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run(slot: int, trial: optuna.Trial) -> float:
        try:
            result = processes.run(slot, trial, targets or {})
        except TrialProcessDied:
            on_died(slot)
            raise
        with lock:
            return accept(result)

    def explore(slot: int) -> None:
        try:
            while not failures and searching(slot):
                with lock:
                    trial = study.ask()
                    on_ask(trial)
                log_trial(study, tell(study, trial, functools.partial(run, slot, trial), catch))
        except BaseException as exc:  # the others stop too; the first failure is the training's
            failures.append(exc)
            processes.stop.set()

    threads = [threading.Thread(target=explore, args=(slot,), name=f"tailor-trials-{device}", daemon=True)
               for slot, device in enumerate(processes.devices)]
    for thread in threads:
        thread.start()
    cancelled = False
    alive = threads
    try:
        while alive:
            alive[0].join(POLL_SECONDS)
            alive = [thread for thread in threads if thread.is_alive()]
            if not cancelled and should_stop():
                cancelled = True
                processes.stop.set()
            on_poll()
    finally:
        if alive:  # this thread failed (reporting progress, say): the trials stop at their next step
            processes.stop.set()
            for thread in alive:
                thread.join(POLL_SECONDS * 20)
    if cancelled:
        raise TrainingCancelled
    if failures:
        raise failures[0]
