"""http(s) URLs: statuses, size limits while streaming, redirects followed by hand, retries of transient failures."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tailor.blobs import BlobPolicy, BlobReader, read_blob
from tailor.errors import BlobNotFound, BlobRefused, BlobTooLarge, BlobUnreachable

from .servers import Reply, ScriptedServer


def _reader(server: ScriptedServer, retries: int = 3) -> BlobReader:
    """A service-like reader (guard on) that may reach the scripted server, with quick backoff."""
    return BlobReader(
        BlobPolicy(
            data_roots=(),
            guard_addresses=True,
            allow_hosts=frozenset({server.host_port}),
            timeout_s=5,
            retries=retries,
            retry_backoff_s=0.01,
        )
    )


def test_http_reads_and_maps_statuses(http_folder) -> None:
    base, root = http_folder
    (root / "x.json").write_bytes(b'{"a": 1}')
    (root / "big.bin").write_bytes(b"y" * 5000)
    assert read_blob(base + "x.json", max_bytes=100) == b'{"a": 1}'
    with pytest.raises(BlobNotFound, match="404"):
        read_blob(base + "missing.json", max_bytes=100)
    with pytest.raises(BlobTooLarge):
        read_blob(base + "big.bin", max_bytes=4999)
    assert read_blob(base + "big.bin", max_bytes=10, truncate=True) == b"y" * 10


def test_unreachable_host_is_a_clear_error() -> None:
    reader = BlobReader(BlobPolicy(retries=0))
    with pytest.raises(BlobUnreachable, match="cannot connect"):
        reader.read("http://127.0.0.1:9/x.json", max_bytes=100)  # port 9 (discard): nothing listens


def test_size_is_counted_when_no_length_is_declared(scripted_server: ScriptedServer) -> None:
    url = scripted_server.script("/big", Reply(body=b"z" * 5000, declare_length=False))
    with pytest.raises(BlobTooLarge):
        _reader(scripted_server).read(url, max_bytes=4999)
    assert _reader(scripted_server).read(url, max_bytes=5000) == b"z" * 5000
    assert _reader(scripted_server).read(url, max_bytes=3, truncate=True) == b"zzz"


def test_transient_failures_are_retried(scripted_server: ScriptedServer) -> None:
    url = scripted_server.script("/flaky", Reply(503), Reply(503), Reply(200, b"at last"))
    assert _reader(scripted_server).read(url, max_bytes=100) == b"at last"
    assert scripted_server.hits["/flaky"] == 3


def test_retries_stop_after_the_policy_s_count(scripted_server: ScriptedServer) -> None:
    url = scripted_server.script("/down", Reply(502), Reply(429, headers={"Retry-After": "0"}), Reply(500))
    with pytest.raises(BlobUnreachable, match="HTTP 500"):
        _reader(scripted_server, retries=2).read(url, max_bytes=100)
    assert scripted_server.hits["/down"] == 3


@pytest.mark.parametrize(("status", "error"), [(404, BlobNotFound), (400, BlobUnreachable), (501, BlobUnreachable)])
def test_other_failures_are_not_retried(scripted_server: ScriptedServer, status: int, error: type[Exception]) -> None:
    url = scripted_server.script("/gone", Reply(status))
    with pytest.raises(error, match=f"HTTP {status}"):
        _reader(scripted_server).read(url, max_bytes=100)
    assert scripted_server.hits["/gone"] == 1


def test_redirects_are_followed_within_a_limit(scripted_server: ScriptedServer) -> None:
    scripted_server.script("/final", Reply(200, b"here"))
    scripted_server.script("/relative", Reply(301, headers={"Location": "final"}))
    url = scripted_server.script("/start", Reply(302, headers={"Location": scripted_server.url("/relative")}))
    assert _reader(scripted_server).read(url, max_bytes=100) == b"here"
    assert scripted_server.hits == {"/start": 1, "/relative": 1, "/final": 1}

    loop = scripted_server.script("/loop", Reply(307, headers={"Location": "/loop"}))
    with pytest.raises(BlobUnreachable, match="more than 5 redirects"):
        _reader(scripted_server).read(loop, max_bytes=100)
    assert scripted_server.hits["/loop"] == 6


def test_redirects_out_of_http_are_refused(scripted_server: ScriptedServer) -> None:
    url = scripted_server.script("/sneaky", Reply(302, headers={"Location": "file:///etc/passwd"}))
    with pytest.raises(BlobRefused, match="not an http"):
        _reader(scripted_server).read(url, max_bytes=100)


@pytest.fixture
def https_server(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ScriptedServer]]:
    """(host:port, server): the scripted server behind TLS, with a certificate for 127.0.0.1 that httpx trusts
    (through SSL_CERT_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    with ScriptedServer(context) as server:
        yield server.host_port, server


def test_https_to_http_redirects_are_refused(https_server, scripted_server: ScriptedServer) -> None:
    host_port, secure = https_server
    plain = scripted_server.script("/x", Reply(200, b"plain"))
    secure.script("/ok", Reply(200, b"secure"))
    url = secure.script("/down", Reply(302, headers={"Location": plain}))
    reader = BlobReader(
        BlobPolicy(guard_addresses=True, allow_hosts=frozenset({host_port, scripted_server.host_port}), retries=0)
    )
    assert reader.read(secure.url("/ok"), max_bytes=100) == b"secure"
    with pytest.raises(BlobRefused, match="from https to plain http"):
        reader.read(url, max_bytes=100)
    assert secure.hits["/down"] == 1 and scripted_server.hits["/x"] == 0
