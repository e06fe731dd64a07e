"""`/ready`: whether this API process can serve now, component by component: the metadata database, Redis (when
jobs go through it) and Tailor's own storage. Each is probed at once, in a thread of its own, and given PROBE_TIMEOUT_S
to answer; what failed is logged with its reason, and the answer only names it (it is not authenticated).

    readiness = Readiness.for_service(settings, store, storage)
    states = readiness.check()      # {"database": "up", "redis": "down", "storage": "timeout"}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from enum import Enum

from redis import Redis

from ..blobs import Storage
from ..settings import Settings
from ..store import Store

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 2.0


class State(str, Enum):
    UP = "up"
    DOWN = "down"  # it answered with an error, or could not be reached
    TIMEOUT = "timeout"  # it did not answer within PROBE_TIMEOUT_S

    def is_up(self) -> bool:
        return self is State.UP


class Readiness:
    """Probes by component name; a probe returns when the component can be used and raises when not."""

    def __init__(self, probes: Mapping[str, Callable[[], object]], timeout_s: float = PROBE_TIMEOUT_S):
        self._probes = dict(probes)
        self._timeout_s = timeout_s

    @classmethod
    def for_service(cls, settings: Settings, store: Store, storage: Storage) -> Readiness:
        probes: dict[str, Callable[[], object]] = {"database": store.ping}
        if settings.redis_url:
            probes["redis"] = _redis_ping(settings.redis_url)
        probes["storage"] = storage.check
        return cls(probes)

    def check(self) -> dict[str, State]:
        """Every component's state, all probed at once; the whole check takes at most the timeout."""
        probes = {name: _Probe(name, probe) for name, probe in self._probes.items()}
        deadline = time.monotonic() + self._timeout_s
        for probe in probes.values():
            probe.thread.join(max(0.0, deadline - time.monotonic()))
        states = {name: probe.state() for name, probe in probes.items()}
        for name, state in states.items():
            if state is State.TIMEOUT:
                log.warning("readiness: %s did not answer within %.1f s", name, self._timeout_s)
            elif state is State.DOWN:
                log.warning("readiness: %s is unreachable: %s", name, _reason(probes[name].error))
        return states


class _Probe:
    """One probe running in a daemon thread: one that hangs (a connect to a host that never answers) is left
    behind, and cannot keep the process from exiting."""

    def __init__(self, name: str, probe: Callable[[], object]):
        self._probe = probe
        self.error: BaseException | None = None
        self.done = False
        self.thread = threading.Thread(target=self._run, name=f"tailor-ready-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._probe()
        except BaseException as exc:  # whatever it raised, the component is not usable
            self.error = exc
        self.done = True

    def state(self) -> State:
        if not self.done:
            return State.TIMEOUT
        return State.DOWN if self.error is not None else State.UP


def _redis_ping(url: str) -> Callable[[], object]:
    def ping() -> object:
        with Redis.from_url(url, socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=PROBE_TIMEOUT_S) as redis:
            return redis.ping()

    return ping


def _reason(error: BaseException | None) -> str:
    """The error's first line: SQLAlchemy's go on with the statement and a link."""
    original = getattr(error, "orig", None) or error  # a DBAPI error under SQLAlchemy's wrapper
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else ''}"
