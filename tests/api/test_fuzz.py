"""A schema-driven fuzz of the live service (tests/fuzzing.py): a few hundred requests from its own OpenAPI document,
both faces, none answered with a 5xx. `benchmarks/fuzz.py` runs the same fuzz at 4,000 requests and more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.coco.builders import classification
from tests.fuzzing import Fuzzer

from .conftest import TRAINING_KEY, LiveServer, make_settings

REQUESTS = 300


@pytest.mark.slow
def test_a_fuzz_of_the_openapi_document_meets_no_server_error(tmp_path: Path) -> None:
    # Trainings cannot cost anything: the budget is capped, and the dataset's images do not exist.
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}", max_budget_hours=0.001,
                             fetch_timeout_s=2, fetch_retries=0)
    doc = classification(2, 2)
    for image in doc["images"]:
        image["absolute_url"] = f"missing/{image['file_name']}"
    coco = Path(settings.data_roots[0]) / "nowhere.json"
    coco.write_text(json.dumps(doc))
    with LiveServer(settings) as server:
        fuzzer = Fuzzer(server.url, TRAINING_KEY)
        fuzzer.prepare(str(coco))
        result = fuzzer.run(REQUESTS, base_seed=0)
    assert result.requests >= REQUESTS and result.operations > 100
    assert result.statuses[200] > 0 and result.statuses[400] > 0 and result.statuses[404] > 0
    shown = "\n".join(f"{f.status} {f.operation}: {f.curl}" for f in result.findings[:10])
    assert result.server_errors == 0, shown
