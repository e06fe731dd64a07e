"""A schema-driven fuzz of a running Tailor, shared by the fuzz test (a few hundred requests) and
`benchmarks/fuzz.py` (thousands): Schemathesis generates requests from the service's own `/openapi.json`, for every
operation, both requests that fit the schema (positive) and requests that break it (negative), and each answer is
held to Schemathesis's `not_a_server_error` check.

Before fuzzing, a few records are made for path parameters to name (a Custom Vision project and a tag; with a COCO
file, a dataset and a model), so that requests get past "not found": every operation whose path names one of them
is fuzzed both with generated values and with these. Trainings cannot cost much: the dataset's images point at
nothing, and every model created during the run that has not ended is cancelled at the end.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import SerializationNotPossible
from schemathesis.core.failures import Failure, FailureGroup

VERSION = "2023-04-01-preview"
CUSTOM_VISION = "/customvision/v3.3/training"
FINAL = {"succeeded", "failed", "cancelled"}


@dataclass
class Finding:
    operation: str
    status: int | str
    curl: str


@dataclass
class FuzzResult:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    unsendable: int = 0  # generated requests that cannot be sent (a header with a newline, a body as TIFF)
    operations: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)  # every answer of 5xx, or no answer at all
    cancelled: list[str] = field(default_factory=list)
    seconds_by_operation: Counter = field(default_factory=Counter)  # time spent waiting for answers

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not isinstance(status, int) or status >= 500)


class Fuzzer:
    def __init__(self, url: str, key: str, *, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.headers = {"Ocp-Apim-Subscription-Key": key, "Training-Key": key}
        self.session = requests.Session()
        self.timeout = timeout
        self.schema = schemathesis.openapi.from_url(f"{self.url}/openapi.json")
        self.operations = [found.ok() for found in self.schema.get_all_operations()]
        self.records: dict[str, str] = {}
        self.since = datetime.now(UTC).replace(microsecond=0)  # models created after this are the run's

    # Records for path parameters to name --------------------------------------------------------------------

    def prepare(self, coco_uri: str | None = None) -> None:
        project = self._call("POST", f"{CUSTOM_VISION}/projects", params={"name": "fuzz"}).json()
        tag = self._call("POST", f"{CUSTOM_VISION}/projects/{project['id']}/tags", params={"name": "fuzz-tag"}).json()
        self.records.update(project_id=project["id"], tag_id=tag["id"])
        if coco_uri:
            run = uuid.uuid4().hex[:8]
            dataset, model = f"fuzz-data-{run}", f"fuzz-model-{run}"
            body = {"annotationKind": "imageClassification", "annotationFileUris": [coco_uri]}
            self._call("PUT", f"/computervision/datasets/{dataset}", json=body, params={"api-version": VERSION})
            training = {"trainingDatasetName": dataset, "timeBudgetInHours": 0.001, "modelKind": "Generic-Classifier"}
            self._call("PUT", f"/computervision/models/{model}", json={"trainingParameters": training},
                       params={"api-version": VERSION})
            self.records.update(dataset=dataset, model=model)

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        response = self.session.request(method, self.url + path, headers=self.headers, timeout=self.timeout, **kw)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def _known(self, path: str, parameter: str) -> str | None:
        if parameter in ("project_id", "tag_id"):
            return self.records.get(parameter)
        if parameter == "model" or (parameter == "name" and path.startswith("/computervision/models/{name}")):
            return self.records.get("model")
        if parameter == "name" and path.startswith("/computervision/datasets/"):
            return self.records.get("dataset")
        return None

    # Fuzzing ------------------------------------------------------------------------------------------------

    def run(self, total: int, base_seed: int = 0) -> FuzzResult:
        """At least `total` requests, spread evenly over the operations: up to half from Schemathesis's coverage
        phase (boundary values, missing and mistyped parameters, for each operation), the rest fuzzed by
        Hypothesis in both modes; each half with generated path parameters and with the records made above."""
        result = FuzzResult(operations=len(self.operations))
        started = time.perf_counter()
        per_operation = max(1, round(total / 2 / len(self.operations)))
        for operation in self.operations:
            variants = self._variants(operation)
            for k, case in enumerate(_spread(self._coverage_cases(operation), per_operation)):
                case.path_parameters = {**(case.path_parameters or {}), **variants[k % len(variants)]}
                self._send(case, result)
        variants = [(op, mode, known) for op in self.operations for mode in GenerationMode
                    for known in self._variants(op)]
        round_ = 0
        while result.requests < total:
            before, left = result.requests, total - result.requests
            each = max(1, math.ceil(left / len(variants)))
            for operation, mode, known in variants if left >= len(variants) else _spread(variants, left):
                self._fuzz(operation, mode, known, each, base_seed + round_, result)
            round_ += 1
            if result.requests == before:
                break  # nothing more can be generated
        result.seconds = time.perf_counter() - started
        result.cancelled = self._cancel_models_since(self.since)
        return result

    def _coverage_cases(self, operation) -> list:
        config = self.schema.config.generation_for(operation=operation)
        return list(self.schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode),
                                                    generation_config=config))

    def _variants(self, operation) -> list[dict[str, str]]:
        names = [p.name for p in operation.path_parameters]
        known = {name: value for name in names if (value := self._known(operation.path, name)) is not None}
        if operation.method.upper() == "DELETE" and names and names[-1] in known and operation.path.endswith("}"):
            return [{}]  # deleting a record made for the run would leave the rest of the run without it
        return [{}, known] if known else [{}]

    def _fuzz(self, operation, mode: GenerationMode, known: dict[str, str], examples: int, round_seed: int,
              result: FuzzResult) -> None:
        # The keys are fixed in every case: a generated value for the security scheme's header would only be a 401.
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=known or None, headers=self.headers)

        @seed(round_seed)
        @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def one(case) -> None:
            self._send(case, result)

        try:
            one()
        except HypothesisException:  # e.g. a strategy that cannot produce a negative case for this operation
            pass

    def _send(self, case, result: FuzzResult) -> None:
        try:
            response = case.call(base_url=self.url, session=self.session, headers=self.headers, timeout=self.timeout)
        except (SerializationNotPossible, requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                UnicodeError, ValueError):
            result.unsendable += 1
            return
        except requests.RequestException as exc:  # a timeout, or the server went away: as bad as a 500
            result.requests += 1
            result.statuses[type(exc).__name__] += 1
            result.findings.append(Finding(case.operation.label, type(exc).__name__, case.as_curl_command()))
            return
        result.requests += 1
        result.statuses[response.status_code] += 1
        result.seconds_by_operation[case.operation.label] += response.elapsed  # seconds
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (Failure, FailureGroup):
            result.findings.append(Finding(case.operation.label, response.status_code, case.as_curl_command()))

    def _cancel_models_since(self, since: datetime) -> list[str]:
        """Cancel every model created during the run that has not ended (the run may have started trainings)."""
        cancelled, skip = [], 0
        while True:
            page = self._call("GET", "/computervision/models", params={"api-version": VERSION, "skip": skip,
                                                                        "top": 30}).json()
            for model in page["value"]:
                created = datetime.fromisoformat(model["createdDateTime"])
                if created >= since and model["status"] not in FINAL | {"cancelling"}:
                    self.session.post(f"{self.url}/computervision/models/{model['name']}:cancel",
                                      params={"api-version": VERSION}, headers=self.headers, timeout=self.timeout)
                    cancelled.append(model["name"])
            if not page.get("nextLink"):
                return cancelled
            skip += 30


def _spread(items: list, n: int) -> list:
    """At most `n` of `items`, evenly spaced (coverage cases come grouped by parameter and scenario)."""
    if len(items) <= n:
        return items
    return [items[math.floor(k * len(items) / n)] for k in range(n)]
