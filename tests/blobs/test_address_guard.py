"""The address guard: with it on (the service), URLs leading to loopback, private, link-local or metadata addresses
are refused before any connection, at every redirect hop, unless the host is allowed by name."""

from __future__ import annotations

import time
from ipaddress import ip_address

import pytest

from tailor.blobs import BlobPolicy, BlobReader
from tailor.blobs._addresses import why_forbidden
from tailor.errors import BlobRefused

from .servers import Reply, ScriptedServer


def _guarded(*allowed: str) -> BlobReader:
    # A short timeout: were anything attempted against 10.0.0.1 it would hang until then, and the elapsed time
    # checks below would fail.
    return BlobReader(
        BlobPolicy(guard_addresses=True, allow_hosts=frozenset(allowed), timeout_s=2, retries=0, retry_backoff_s=0)
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/x", "loopback"),
        ("http://[::1]:{port}/x", "loopback"),
        ("http://localhost:{port}/x", "loopback"),
        ("http://0.0.0.0:{port}/x", "unspecified"),
        ("http://[::ffff:127.0.0.1]:{port}/x", "loopback"),
        ("http://2130706433:{port}/x", "loopback"),  # 127.0.0.1 as one decimal number
        ("http://0x7f.1:{port}/x", "loopback"),  # and in hexadecimal shorthand
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data", "metadata"),
        ("http://100.100.100.200/latest/meta-data", "metadata"),
        ("http://10.0.0.1/x", "private"),
        ("http://192.168.1.1/x", "private"),
        ("http://[fc00::1]/x", "private"),
        ("http://100.64.0.1/x", "carrier-grade NAT"),
        ("http://169.254.1.1/x", "link-local"),
        ("http://[fe80::1]/x", "link-local"),
        ("http://224.0.0.1/x", "multicast"),
        ("https://10.0.0.1/devstoreaccount1/container/blob.json", "private"),  # Azurite-style URLs too
    ],
)
def test_internal_addresses_are_refused_before_connecting(
    scripted_server: ScriptedServer, url: str, reason: str
) -> None:
    scripted_server.script("/x", Reply(200, b"should not be read"))
    started = time.monotonic()
    with pytest.raises(BlobRefused, match=f"{reason}.*TAILOR_ALLOW_HOSTS") as info:
        _guarded().read(url.format(port=scripted_server.port), max_bytes=100)
    assert time.monotonic() - started < 1.0
    assert scripted_server.hits["/x"] == 0
    assert "resolves to" in str(info.value)


def test_an_allowed_host_is_read(scripted_server: ScriptedServer) -> None:
    url = scripted_server.script("/x", Reply(200, b"fine"))
    assert _guarded(scripted_server.host_port).read(url, max_bytes=100) == b"fine"
    # Allowed by the name written in the URL: another name for the same address is still refused.
    with pytest.raises(BlobRefused):
        _guarded(scripted_server.host_port).read(f"http://localhost:{scripted_server.port}/x", max_bytes=100)
    assert _guarded(f"localhost:{scripted_server.port}").read(
        f"http://localhost:{scripted_server.port}/x", max_bytes=100
    ) == b"fine"
    assert scripted_server.hits["/x"] == 2


def test_every_redirect_hop_is_checked(scripted_server: ScriptedServer) -> None:
    reader = _guarded(scripted_server.host_port)
    scripted_server.script("/inside", Reply(200, b"allowed hop"))
    followed = scripted_server.script("/to-allowed", Reply(302, headers={"Location": "/inside"}))
    assert reader.read(followed, max_bytes=100) == b"allowed hop"

    refused = scripted_server.script("/to-private", Reply(302, headers={"Location": "http://10.0.0.1/x"}))
    started = time.monotonic()
    with pytest.raises(BlobRefused, match="10.0.0.1.*private"):
        reader.read(refused, max_bytes=100)
    assert time.monotonic() - started < 1.0
    metadata = scripted_server.script(
        "/to-metadata", Reply(301, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    with pytest.raises(BlobRefused, match="metadata"):
        reader.read(metadata, max_bytes=100)
    assert scripted_server.hits == {"/to-allowed": 1, "/inside": 1, "/to-private": 1, "/to-metadata": 1}


def test_the_cli_policy_has_no_guard(scripted_server: ScriptedServer) -> None:
    url = scripted_server.script("/x", Reply(200, b"mine"))
    assert BlobReader(BlobPolicy.local_user()).read(url, max_bytes=100) == b"mine"


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::1"])
def test_public_addresses_pass(address: str) -> None:
    assert why_forbidden(ip_address(address)) is None


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "::",
        "192.0.2.1",  # documentation: not public
        "240.0.0.1",  # reserved
        "255.255.255.255",
    ],
)
def test_disguised_and_special_addresses_are_forbidden(address: str) -> None:
    assert why_forbidden(ip_address(address)) is not None


def test_allow_list_entries_must_name_a_port() -> None:
    with pytest.raises(ValueError, match="TAILOR_ALLOW_HOSTS.*host:port"):
        _guarded("azurite")
    _guarded("[::1]:10000", "Azurite:10000", "127.0.0.1:10000")  # IPv6 in brackets; names in any case
