"""The CLI as a client of a running Tailor: where the server is, which key to send, and the API's errors said as the
API says them (its status, code and message) with a non-zero exit."""

from __future__ import annotations

from typing import Annotated, Any, Self
from urllib.parse import quote

import typer
from rich.markup import escape

from ._render import error_console

API_VERSION = "2023-04-01-preview"
DEFAULT_ENDPOINT = "http://127.0.0.1:8000"

EndpointOption = Annotated[
    str, typer.Option(envvar="TAILOR_ENDPOINT", show_envvar=True, help="The Tailor server.")
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        envvar="TAILOR_KEY", show_envvar=True, show_default=False,
        help="A training key; default: the first TAILOR_TRAINING_KEY, else the generated key in the data directory "
        "(.tailor/training.key).",
    ),
]


def resolve_key(key: str | None) -> str:
    """--key or TAILOR_KEY; else the first TAILOR_TRAINING_KEY; else the key `tailor serve` generated and kept in
    the data directory (TAILOR_DATA_DIR, default .tailor), read as the server reads it."""
    if key:
        return key
    from ..api.keys import KEY_FILE
    from ..settings import Settings

    settings = Settings()
    if settings.training_key:
        first = next((k.strip() for k in settings.training_key.get_secret_value().split(",") if k.strip()), "")
        if first:
            return first
    path = settings.data_dir / KEY_FILE
    try:
        return path.read_text().strip()
    except OSError:
        return ""  # the server answers 401, said as it says it


class Service:
    """httpx on `{endpoint}/computervision` with the key and api-version on every call."""

    def __init__(self, endpoint: str, key: str | None, timeout: float = 60):
        import httpx

        self.endpoint = endpoint.rstrip("/")
        self.http = httpx.Client(
            base_url=f"{self.endpoint}/computervision",
            headers={"Ocp-Apim-Subscription-Key": resolve_key(key)},
            params={"api-version": API_VERSION},
            timeout=timeout,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kw: Any):
        """The response of a call that succeeded; on an API error its status, code and message and exit 1; a server
        that cannot be reached, exit 2."""
        import httpx

        try:
            response = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            error_console.print(f"[bold red]error:[/] cannot reach {escape(self.endpoint)}: {escape(str(exc))}")
            raise typer.Exit(2) from None
        if response.is_error:
            fail(response)
        return response


def api_error(response) -> tuple[str, str]:
    """(code, message) of an error response, in the API's envelope or, failing that, its text."""
    try:
        error = response.json()["error"]
        code, message = str(error.get("code", response.status_code)), str(error.get("message", ""))
        if error.get("target"):
            message += f" (target: {error['target']})"
        for detail in error.get("details") or []:
            if isinstance(detail, dict) and detail.get("message"):
                message += f"\n  {detail.get('code', '')}: {detail['message']}"
        return code, message
    except (ValueError, KeyError, TypeError, AttributeError):
        return str(response.status_code), response.text[:300]


def fail(response) -> None:
    code, message = api_error(response)
    error_console.print(f"[bold red]error:[/] {response.status_code} {escape(code)}: {escape(message)}")
    raise typer.Exit(1)


def quoted(name: str) -> str:
    return quote(name, safe="")
