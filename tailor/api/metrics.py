"""`/metrics`: what an API process reports to Prometheus (text exposition format), in a registry of its own.

- `tailor_http_requests_total{method, route, status}` and `tailor_http_request_duration_seconds{method, route}`:
  counted by the route's template (`/computervision/models/{name}`), never the raw path, so that the number of
  series stays bounded whatever clients send; a request that reached no route (no such path, or refused by a
  gateway before routing: no key, a body too large) is `<unmatched>`, told apart by its status.
- `tailor_queue_depth`: jobs waiting for a worker (arq's queue in Redis, or the in-process runner's).
- `tailor_trainings_running`: models in `training`, from the metadata store (all workers together).
- `tailor_budget_billed_seconds`: the device-seconds billed to the models that exist (a gauge: deleting a model
  takes its bill away).
- `tailor_model_cache_hits_total`, `tailor_model_cache_misses_total`, `tailor_model_cache_models`,
  `tailor_model_cache_bytes`: this process's cache of loaded models (analyze).
- `process_*`: the process's CPU, memory and open files (prometheus_client's own collector).

The store, queue and cache are read when scraped; one that fails is left out of that scrape (and logged), so that
the rest still arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from ..enums import ModelStatus
from ..predictions.cache import ModelCache
from ..store import Store

log = logging.getLogger(__name__)
disable_created_metrics()  # no `_created` series beside every counter and histogram: half the scrape, no use here

UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: from a listing (milliseconds) to registering a large COCO file (tens of seconds).
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, *, store: Store, queue_depth: Callable[[], int], cache: ModelCache[Any]):
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "tailor_http_requests", "HTTP requests answered, by route template and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self._latency = Histogram(
            "tailor_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
            ["method", "route"], buckets=_BUCKETS, registry=self.registry,
        )
        self.registry.register(_ServiceCollector(store, queue_depth, cache))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"  # a client's made-up method is no new series
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(method, route).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The text format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _ServiceCollector(Collector):
    def __init__(self, store: Store, queue_depth: Callable[[], int], cache: ModelCache[Any]):
        self._store = store
        self._queue_depth = queue_depth
        self._cache = cache

    def collect(self) -> Iterator[Metric]:
        yield from _read(
            "queue", lambda: GaugeMetricFamily(
                "tailor_queue_depth", "Jobs (trainings, evaluations) waiting for a worker.", self._queue_depth()
            ),
        )
        yield from _read(
            "store", lambda: GaugeMetricFamily(
                "tailor_trainings_running", "Models in training, on every worker.",
                self._store.models.count_in([ModelStatus.TRAINING]),
            ),
        )
        yield from _read(
            "store", lambda: GaugeMetricFamily(
                "tailor_budget_billed_seconds", "Device-seconds billed to the models that exist, summed.",
                self._store.models.billed_seconds_total(),
            ),
        )
        cache = self._cache
        yield CounterMetricFamily("tailor_model_cache_hits", "Analyze calls served by a loaded model.", cache.hits)
        yield CounterMetricFamily(
            "tailor_model_cache_misses", "Analyze calls that loaded their model, or waited for its load.", cache.misses
        )
        yield GaugeMetricFamily("tailor_model_cache_models", "Models loaded in this process.", len(cache.names()))
        yield GaugeMetricFamily("tailor_model_cache_bytes", "Estimated memory of the loaded models.", cache.nbytes)


def _read(source: str, metric: Callable[[], Metric]) -> Iterator[Metric]:
    try:
        yield metric()
    except Exception as exc:
        log.warning("metrics: the %s could not be read (%s: %s)", source, type(exc).__name__, exc)
