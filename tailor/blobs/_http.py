"""Reading http(s) URLs with httpx: the address guard at every hop (redirects are followed here, not by httpx),
retries of transient failures only, and the size limit enforced while streaming."""

from __future__ import annotations

import random
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ..errors import (
    BlobAccessDenied,
    BlobNotFound,
    BlobRefused,
    BlobTooLarge,
    BlobUnreachable,
    BlobUnsupported,
    TailorError,
)
from ._addresses import AddressGuard
from ._locations import shown
from ._policy import BlobPolicy

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Worth asking again: the server is overloaded or restarting. Any other 4xx or 5xx will answer the same.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 10.0  # a longer Retry-After is not honoured (a read must not hang): the usual backoff applies

_CHUNK = 1 << 20
# Uncompressed bodies: the size limit then counts what the server sends, and Content-Length is the real size (a
# compressed body is counted after decoding, but one network chunk could still inflate a thousandfold in memory).
_HEADERS = {"User-Agent": "tailor", "Accept-Encoding": "identity"}


@dataclass(frozen=True)
class _Redirect:
    location: str


class _TransientFailure(TailorError):
    """One attempt failed in a way a later attempt may not; `error` is what the caller sees if none succeeds."""

    def __init__(self, error: BlobUnreachable, retry_after_s: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


class HttpReader:
    def __init__(self, policy: BlobPolicy, guard: AddressGuard):
        self._policy = policy
        self._guard = guard
        self._timeout = httpx.Timeout(policy.timeout_s)

    def read(self, uri: str, max_bytes: int, truncate: bool) -> bytes:
        hop = uri
        with httpx.Client(timeout=self._timeout, follow_redirects=False, headers=_HEADERS) as client:
            for _ in range(MAX_REDIRECTS + 1):
                outcome = self._get_with_retries(client, uri, hop, max_bytes, truncate)
                if isinstance(outcome, bytes):
                    return outcome
                hop = _next_hop(uri, hop, outcome.location)
        raise BlobUnreachable(shown(uri), f"more than {MAX_REDIRECTS} redirects")

    def _get_with_retries(
        self, client: httpx.Client, uri: str, hop: str, max_bytes: int, truncate: bool
    ) -> bytes | _Redirect:
        retrying = Retrying(
            stop=stop_after_attempt(self._policy.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_TransientFailure),
            reraise=True,
        )
        try:
            return retrying(self._get_once, client, uri, hop, max_bytes, truncate)
        except _TransientFailure as failure:
            raise failure.error from None

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter (so that many readers do not retry in step), or the server's
        Retry-After when it asks for longer."""
        backoff = self._policy.retry_backoff_s * 2 ** (state.attempt_number - 1)
        backoff *= random.uniform(1.0, 1.25)
        failure = state.outcome.exception() if state.outcome is not None else None
        asked = failure.retry_after_s if isinstance(failure, _TransientFailure) else None
        return max(backoff, asked or 0.0)

    def _get_once(self, client: httpx.Client, uri: str, hop: str, max_bytes: int, truncate: bool) -> bytes | _Redirect:
        name = shown(uri)
        try:
            destination = self._guard.check(hop, name)
        except BlobRefused as refused:
            if hop == uri:
                raise
            raise BlobRefused(name, f"redirected to {shown(hop)}: {refused.reason}") from None
        try:
            url = httpx.URL(hop)
            headers: dict[str, str] = {}
            extensions: dict[str, str] = {}
            if destination.address is not None:
                # Connect to the address that was checked; the server still sees the name (Host header, TLS SNI
                # and certificate check), so this is invisible to it.
                headers["Host"] = url.netloc.decode("ascii")
                extensions["sni_hostname"] = url.raw_host.decode("ascii")
                url = url.copy_with(host=destination.address)
            request = client.build_request("GET", url, headers=headers, extensions=extensions)
            response = client.send(request, stream=True)
            try:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise BlobUnreachable(name, f"the server answered HTTP {status} without a Location")
                    return _Redirect(location)
                if status in TRANSIENT_STATUSES:
                    raise _TransientFailure(
                        BlobUnreachable(name, f"the server answered HTTP {status}"), _retry_after_s(response)
                    )
                _raise_for_status(name, status)
                return _read_body(name, response, max_bytes, truncate)
            finally:
                response.close()  # also when the body was not read to its end
        except httpx.TimeoutException:
            raise _TransientFailure(BlobUnreachable(name, "timed out")) from None
        except httpx.ConnectError as exc:
            if _caused_by(exc, ssl.SSLCertVerificationError):  # will fail the same way again
                raise BlobUnreachable(name, f"cannot connect securely ({exc})") from None
            raise _TransientFailure(BlobUnreachable(name, f"cannot connect ({exc})")) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            failed = BlobUnreachable(name, f"the connection failed ({type(exc).__name__}: {exc})")
            raise _TransientFailure(failed) from None
        except httpx.InvalidURL as exc:
            raise BlobUnsupported(name, f"not a valid URL ({exc})") from None
        except httpx.HTTPError as exc:
            raise BlobUnreachable(name, f"cannot read ({type(exc).__name__}: {exc})") from None


def _next_hop(uri: str, hop: str, location: str) -> str:
    """The URL a redirect from `hop` leads to; refused when it leaves http(s) or drops from https to http."""
    target = urljoin(hop, location)
    scheme, hop_scheme = urlsplit(target).scheme.lower(), urlsplit(hop).scheme.lower()
    if scheme not in ("http", "https"):
        raise BlobRefused(shown(uri), f"redirected to {shown(target)}, which is not an http(s) URL")
    if hop_scheme == "https" and scheme == "http":
        raise BlobRefused(shown(uri), f"redirected from https to plain http ({shown(target)})")
    return target


def _raise_for_status(name: str, status: int) -> None:
    if status < 400:
        return
    if status == 404:
        raise BlobNotFound(name, "not found (HTTP 404)")
    if status in (401, 403):
        raise BlobAccessDenied(name, f"access denied (HTTP {status}); a SAS token or credential may be needed")
    raise BlobUnreachable(name, f"the server answered HTTP {status}")


def _read_body(name: str, response: httpx.Response, max_bytes: int, truncate: bool) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes and not truncate:
        raise BlobTooLarge(name, max_bytes, int(declared))  # refused before a byte of the body is read
    body = bytearray()
    for chunk in response.iter_bytes(_CHUNK):
        body += chunk
        if len(body) > max_bytes:  # the declared length may be missing or wrong: count what arrives
            if truncate:
                return bytes(body[:max_bytes])
            raise BlobTooLarge(name, max_bytes)
    return bytes(body)


def _retry_after_s(response: httpx.Response) -> float | None:
    """The server's Retry-After in seconds (the delta form only), when it is short enough to wait for."""
    value = response.headers.get("retry-after", "").strip()
    if not value.isdigit():
        return None
    seconds = float(value)
    return seconds if seconds <= MAX_RETRY_AFTER_S else None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
