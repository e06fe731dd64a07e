"""Policies built from settings, connection strings, and secrets kept out of reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.blobs import Access, AuthKind, BlobPolicy, BlobReader
from tailor.blobs._storage_accounts import AZURITE_KEY, parse_connection_string
from tailor.settings import Settings

SECRET_KEY = "c2VjcmV0LWtleQ=="


def test_the_cli_may_read_anything() -> None:
    policy = BlobPolicy.local_user()
    assert policy.data_roots is None and not policy.guard_addresses and not policy.storage_connection_strings


def test_the_service_policy_comes_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_roots=[str(tmp_path), "/mnt/sets"],
        allow_hosts=["127.0.0.1:10000"],
        storage_connection_string=f"AccountName=acct;AccountKey={SECRET_KEY}",
        fetch_timeout_s=7.5,
        fetch_retries=1,
    )
    policy = BlobPolicy.from_settings(settings)
    assert policy == BlobPolicy(
        data_roots=(tmp_path, Path("/mnt/sets")),
        guard_addresses=True,
        allow_hosts=frozenset({"127.0.0.1:10000"}),
        storage_connection_strings=(f"AccountName=acct;AccountKey={SECRET_KEY}",),
        timeout_s=7.5,
        retries=1,
    )
    assert SECRET_KEY not in repr(policy)
    BlobReader(policy)  # the connection string and the allow list parse


def test_no_data_roots_in_settings_means_no_local_paths() -> None:
    policy = BlobPolicy.from_settings(Settings(data_roots=[], storage_connection_string=None))
    assert policy.data_roots == () and policy.guard_addresses and policy.storage_connection_strings == ()


def test_access_keeps_its_token_out_of_reprs() -> None:
    access = Access(AuthKind.SAS, "sv=2024&sig=abc")
    assert "sig=abc" not in repr(access)
    assert AuthKind("managedIdentity") is AuthKind.MANAGED_IDENTITY


@pytest.mark.parametrize(
    ("text", "name", "endpoint", "key"),
    [
        (
            f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={SECRET_KEY};EndpointSuffix=core.windows.net",
            "acct", "https://acct.blob.core.windows.net", SECRET_KEY,
        ),
        (f"AccountName=acct;AccountKey={SECRET_KEY}", "acct", "https://acct.blob.core.windows.net", SECRET_KEY),
        (
            (f"AccountName=devstoreaccount1;AccountKey={SECRET_KEY};"
            "BlobEndpoint=http://azurite:10000/devstoreaccount1/;"),
            "devstoreaccount1", "http://azurite:10000/devstoreaccount1", SECRET_KEY,
        ),
        ("UseDevelopmentStorage=true", "devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", AZURITE_KEY),
    ],
)
def test_connection_strings(text: str, name: str, endpoint: str, key: str) -> None:
    account = parse_connection_string(text)
    assert (account.name, account.blob_endpoint, account.account_key) == (name, endpoint, key)
    assert key not in repr(account)


def test_sas_connection_strings() -> None:
    account = parse_connection_string(
        "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=1&sig=x"
    )
    assert account.sas_token == "sv=1&sig=x" and account.account_key is None


@pytest.mark.parametrize("text", ["", "AccountKey=" + SECRET_KEY, "BlobEndpoint=ftp://x;AccountName=a"])
def test_malformed_connection_strings_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(ValueError, match="TAILOR_STORAGE_CONNECTION_STRING") as info:
        BlobReader(BlobPolicy(storage_connection_strings=(text,)))
    assert SECRET_KEY not in str(info.value)
