"""`tailor worker` refuses settings it cannot work with before it takes a job."""

from __future__ import annotations

import pytest

from tailor.settings import Settings
from tailor.workers.arq_worker import worker


def test_a_storage_that_cannot_be_opened_stops_the_worker_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                     "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)  # no Azure identity on this host either
    settings = Settings(redis_url="redis://127.0.0.1:6379/0", artifacts_url="https://acct.blob.core.windows.net/tailor",
                        storage_connection_string=None, storage_container=None)
    with pytest.raises(ValueError, match="TAILOR_ARTIFACTS_URL: the URL has no credential"):
        worker(settings)
