"""Of two concurrent PUTs of one name, one gets 201 and the other 409, on SQLite and PostgreSQL, over real HTTP."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import requests

from tests.coco.builders import classification

from .conftest import HEADERS, VERSION, LiveServer, make_settings


def test_concurrent_registrations_of_one_name(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    uri = Path(settings.data_roots[0]) / "train.json"
    uri.write_text(json.dumps(classification()))
    statuses: list[int] = []
    barrier = threading.Barrier(6)
    with LiveServer(settings) as server:

        def put() -> None:
            barrier.wait()
            response = requests.put(
                f"{server.url}/computervision/datasets/race",
                params={"api-version": VERSION},
                headers=HEADERS,
                json={"annotationKind": "imageClassification", "annotationFileUris": [str(uri)]},
                timeout=30,
            )
            statuses.append(response.status_code)

        threads = [threading.Thread(target=put) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        listed = requests.get(
            f"{server.url}/computervision/datasets", params={"api-version": VERSION}, headers=HEADERS, timeout=10
        ).json()
    assert sorted(statuses) == [201] + [409] * 5
    assert [d["name"] for d in listed["value"]] == ["race"]
