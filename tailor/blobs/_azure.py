"""Reading Azure Blob Storage (and Azurite) with azure-storage-blob: the size from the blob's properties first,
then at most the limit downloaded; the SDK's errors translated into Tailor's."""

from __future__ import annotations

from urllib.parse import parse_qs

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobClient, ExponentialRetry

from ..errors import BlobAccessDenied, BlobNotFound, BlobTooLarge, BlobUnreachable, BlobUnsupported
from ._azure_urls import BlobAddress
from ._credentials import CredentialChooser
from ._locations import shown as redacted
from ._policy import Access, BlobPolicy
from ._storage_accounts import CONNECTION_STRING_SETTING

# Error codes that mean "it is not there" (as opposed to "you may not see whether it is there").
_MISSING_CODES = frozenset({"BlobNotFound", "ContainerNotFound"})

_ACCESS_HINT = (
    "give the dataset a SAS token (authentication kind 'sas'), or give the server a credential for this account "
    f"({CONNECTION_STRING_SETTING}) and use 'managedIdentity'"
)


class AzureReader:
    def __init__(self, policy: BlobPolicy):
        self._policy = policy
        self._credentials = CredentialChooser()

    def read(self, address: BlobAddress, access: Access, shown: str, max_bytes: int, truncate: bool) -> bytes:
        credential = self._credentials.credential(address, access, shown)
        version = parse_qs(address.query).get("versionid", [None])[0]
        try:
            client = BlobClient(
                f"{address.account_url}?{address.query}" if address.query else address.account_url,
                address.container,
                address.blob,
                credential=credential,
                retry_policy=self._retry_policy(),
                connection_timeout=self._policy.timeout_s,
                read_timeout=self._policy.timeout_s,
                permit_redirects=False,  # Azure Storage does not redirect; a host that does is not followed blind
            )
        except ValueError as exc:
            raise BlobUnsupported(shown, f"not a valid Azure Blob URL ({exc})") from None
        try:
            with client:
                return download_at_most(client, shown, max_bytes, truncate, version)
        except HttpResponseError as exc:  # ClientAuthenticationError included
            anonymous = credential is None and "sig=" not in address.query.lower()
            raise _translate_response_error(exc, shown, anonymous) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            # The SDK's message repeats the request's URL, SAS included: blank the signature.
            raise BlobUnreachable(shown, f"cannot connect ({redacted(exc.message)})") from None
        except AzureError as exc:
            raise BlobUnreachable(shown, f"the read failed ({type(exc).__name__}: {redacted(exc.message)})") from None

    def _retry_policy(self) -> ExponentialRetry:
        return retry_policy(self._policy.retries, self._policy.retry_backoff_s)


def retry_policy(retries: int, backoff_s: float) -> ExponentialRetry:
    # The SDK retries connection failures, timeouts and 408/429/5xx answers, never other 4xx; its default backoff
    # starts at 15 s, too long for a request a user waits on.
    # The SDK annotates the backoff and the jitter as int seconds, but computes with them as floats.
    return ExponentialRetry(
        increment_base=2, retry_total=retries,
        initial_backoff=backoff_s, random_jitter_range=backoff_s,  # type: ignore[arg-type]
    )


def download_at_most(
    client: BlobClient, shown: str, max_bytes: int, truncate: bool, version: str | None = None
) -> bytes:
    """At most `max_bytes` of the blob: its size from its properties first, then only that range downloaded.
    BlobTooLarge over the limit unless `truncate`; the SDK's errors are left to the caller to translate."""
    size = client.get_blob_properties(version_id=version).size
    if size > max_bytes and not truncate:
        raise BlobTooLarge(shown, max_bytes, size)
    length = min(size, max_bytes)  # the blob may grow meanwhile: the range still bounds the download
    if length == 0:
        return b""  # a range request on an empty blob is an error (HTTP 416)
    return client.download_blob(offset=0, length=length, version_id=version, max_concurrency=1).readall()


def _translate_response_error(exc: HttpResponseError, shown: str, anonymous: bool) -> Exception:
    status = exc.status_code
    if status is None and isinstance(exc, ClientAuthenticationError):  # no answer: getting a token failed
        reason = redacted(exc.message)
        return BlobAccessDenied(shown, f"the server's Azure credential could not get a token ({reason})")
    # Sometimes a StorageErrorCode enum. The storage SDK sets error_code on every error it raises; azure-core's
    # HttpResponseError does not declare it.
    code = str(getattr(exc.error_code, "value", exc.error_code) or "")  # type: ignore[attr-defined]
    code_shown = f", {code}" if code else ""
    if status == 404 and code not in _MISSING_CODES and anonymous:
        # Azure answers an anonymous read of a private container with a bare 404 (ResourceNotFound), so as not to
        # tell whether it exists.
        return BlobAccessDenied(shown, f"not found, or not public (HTTP 404{code_shown}); {_ACCESS_HINT}")
    if status == 404:
        return BlobNotFound(shown, f"not found (HTTP 404{code_shown})")
    if status in (401, 403):
        return BlobAccessDenied(shown, f"access denied (HTTP {status}{code_shown}); {_ACCESS_HINT}")
    return BlobUnreachable(shown, f"Azure Storage answered HTTP {status}{code_shown}")
