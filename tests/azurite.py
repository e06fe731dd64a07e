"""A pytest plugin: a real Azurite blob service for the session (`azurite` fixture).

Azurite is installed once, with npm, into `.azurite/` at the repository root (ignored by git), and started on a
free loopback port with its data in a temporary folder. Nothing is skipped: without npm the fixture fails and says
how to install it.
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, PublicAccess, generate_blob_sas

AZURITE_VERSION = "3.37.0"
ACCOUNT = "devstoreaccount1"
# Azurite's built-in account key, published in its documentation.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_REPO = Path(__file__).resolve().parent.parent
_INSTALL_DIR = _REPO / ".azurite"
_EXECUTABLE = _INSTALL_DIR / "node_modules" / ".bin" / "azurite-blob"
_START_TIMEOUT_S = 60.0


@dataclass
class Azurite:
    host_port: str  # "127.0.0.1:PORT"
    blob_endpoint: str  # "http://127.0.0.1:PORT/devstoreaccount1"
    connection_string: str

    def container(self, name: str, public: bool) -> str:
        """Create container `name` (public: anonymous reads of its blobs) and return its URL."""
        with self._service() as service:
            try:
                service.create_container(name, public_access=PublicAccess.BLOB if public else None)
            except ResourceExistsError:
                pass
        return f"{self.blob_endpoint}/{name}"

    def upload(self, container: str, blob_name: str, data: bytes) -> str:
        """Upload `data` as `blob_name` and return the blob's URL."""
        with self._service() as service:
            blob = service.get_blob_client(container, blob_name)
            blob.upload_blob(data, overwrite=True)
            return blob.url

    def names(self, container: str) -> list[str]:
        """The names of the blobs in `container`."""
        with self._service() as service:
            return list(service.get_container_client(container).list_blob_names())

    def sas_for(self, container: str, blob_name: str) -> str:
        """A read-only SAS token (no leading "?") for one blob, valid for an hour."""
        return generate_blob_sas(
            ACCOUNT,
            container,
            blob_name,
            account_key=ACCOUNT_KEY,
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )

    def _service(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    _install()
    port = _free_port()
    data = tmp_path_factory.mktemp("azurite")
    log = data / "azurite.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(_EXECUTABLE),
                "--blobHost", "127.0.0.1",
                "--blobPort", str(port),
                "--location", str(data),
                "--silent",
                "--skipApiVersionCheck",  # the Python SDK may be newer than this Azurite
                "--loose",
                "--disableTelemetry",  # no network here; telemetry only fills the log with DNS failures
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(process, port, log)
        endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
        yield Azurite(
            host_port=f"127.0.0.1:{port}",
            blob_endpoint=endpoint,
            connection_string=(
                f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={endpoint};"
            ),
        )
    finally:
        # Killed outright: its data is throwaway, and after a graceful close Azurite's process can linger for
        # seconds (timers of its own).
        process.kill()
        process.wait()


def _install() -> None:
    """npm install Azurite into .azurite/ unless it is there; a lock keeps pytest-xdist workers from installing
    at once."""
    if _EXECUTABLE.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "the Azurite tests need Node.js and npm to install Azurite (e.g. `apt-get install nodejs npm`)",
            pytrace=False,
        )
    _INSTALL_DIR.mkdir(exist_ok=True)
    with (_INSTALL_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _EXECUTABLE.exists():  # another worker installed it while this one waited
            return
        result = subprocess.run(
            [npm, "install", "--prefix", str(_INSTALL_DIR), f"azurite@{AZURITE_VERSION}", "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0 or not _EXECUTABLE.exists():
            pytest.fail(f"npm could not install azurite@{AZURITE_VERSION}:\n{result.stderr[-4000:]}", pytrace=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Azurite exited with status {process.returncode}:\n{_tail(log)}", pytrace=False)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"Azurite did not listen on 127.0.0.1:{port} within {_START_TIMEOUT_S:.0f} s:\n{_tail(log)}",
                pytrace=False)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else "(no output)"


__all__ = ["Azurite", "azurite"]
