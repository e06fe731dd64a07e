"""Registration fetches only what it may: private addresses, metadata endpoints and local files outside the data
roots are refused with a clear error, and nothing is fetched or stored."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .conftest import Api
from .test_datasets import error_of


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9/train.json",
        "http://[::1]:9/train.json",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.1/train.json",
        "http://localhost:9/train.json",
        "file:///etc/passwd",
        "/etc/passwd",
    ],
)
def test_refused_uris(api: Api, uri: str) -> None:
    response = api.register("probe", uris=[uri])
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "DatasetInvalidAnnotationUri"
    (detail,) = error["details"]
    assert detail["code"] == "fileUnreadable"
    assert any(word in detail["message"] for word in ("TAILOR_ALLOW_HOSTS", "TAILOR_DATA_ROOTS"))
    assert api.call("GET", "datasets/probe").status_code == 404


class _Redirect(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(302)
        self.send_header("Location", "http://10.0.0.1/train.json")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_redirect_to_a_private_address_is_refused(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from tailor.api import create_app

    from .conftest import make_settings

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", allow_hosts=[f"127.0.0.1:{port}"])
        with TestClient(create_app(settings)) as client:
            api = Api(client, tmp_path / "datasets")
            response = api.register("redirected", uris=[f"http://127.0.0.1:{port}/train.json"])
        assert response.status_code == 400
        (detail,) = error_of(response)["details"]
        assert "10.0.0.1" in detail["message"]
        assert _Redirect.hits == 1
    finally:
        server.shutdown()
        server.server_close()
