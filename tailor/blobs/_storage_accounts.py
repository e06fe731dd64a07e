"""The server's own Azure Storage accounts, from connection strings: where each account's blob endpoint is and the
credential to use there (and only there)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ._addresses import HostPort

CONNECTION_STRING_SETTING = "TAILOR_STORAGE_CONNECTION_STRING"

# Azurite's one built-in account; its key is published in Azurite's documentation, so it is no secret.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_AZURITE_ENDPOINT = f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}"


@dataclass(frozen=True)
class StorageAccount:
    name: str | None
    blob_endpoint: str  # "https://acct.blob.core.windows.net", "http://127.0.0.1:10000/devstoreaccount1", ...
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)

    def contains(self, url: str) -> bool:
        """True when `url` is under this account's blob endpoint (same host and port, the endpoint's path first)."""
        endpoint, target = urlsplit(self.blob_endpoint), urlsplit(url)
        prefix = endpoint.path.rstrip("/") + "/"
        return HostPort.of_url(self.blob_endpoint) == HostPort.of_url(url) and target.path.startswith(prefix)


def parse_connection_string(text: str) -> StorageAccount:
    """An account from `Key=Value;...` (AccountName, AccountKey, BlobEndpoint, DefaultEndpointsProtocol,
    EndpointSuffix, SharedAccessSignature, or UseDevelopmentStorage=true). ValueError when it names no account;
    the message never repeats the string, which holds a secret."""
    values: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")  # the first "=" only: keys end in "=" padding
        if sep:
            values[key.strip().lower()] = value.strip()
    if values.get("usedevelopmentstorage", "").lower() == "true":
        proxy = values.get("developmentstorageproxyuri")
        azurite = f"{proxy.rstrip('/')}/{AZURITE_ACCOUNT}" if proxy else _AZURITE_ENDPOINT
        return StorageAccount(AZURITE_ACCOUNT, azurite, AZURITE_KEY)
    name = values.get("accountname")
    endpoint = values.get("blobendpoint")
    if not endpoint and name:
        protocol = values.get("defaultendpointsprotocol", "https")
        endpoint = f"{protocol}://{name}.blob.{values.get('endpointsuffix', 'core.windows.net')}"
    if not endpoint:
        raise ValueError(f"{CONNECTION_STRING_SETTING} names neither an AccountName nor a BlobEndpoint")
    if urlsplit(endpoint).scheme.lower() not in ("http", "https") or not urlsplit(endpoint).hostname:
        raise ValueError(f"{CONNECTION_STRING_SETTING}: BlobEndpoint is not an http(s) URL")
    account_key = values.get("accountkey") or None
    if account_key and not name:
        raise ValueError(f"{CONNECTION_STRING_SETTING} has an AccountKey but no AccountName")
    return StorageAccount(name, endpoint.rstrip("/"), account_key, values.get("sharedaccesssignature") or None)
