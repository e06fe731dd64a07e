"""`tailor serve`: the service on the embedded default (SQLite, a local data directory, no other server)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ..secrets import SecretKeyError, resolve_secret_box
from ..settings import Settings
from ._render import console, error_console


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: TAILOR_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: TAILOR_PORT or 8000).")] = None,
) -> None:
    """Start the REST service. Settings come from TAILOR_* environment variables (see README)."""
    import uvicorn  # imported here: the other commands start faster without the server stack

    from ..api import create_app
    from ..api.keys import resolve_keys
    from ..automl.devices import resolve_devices
    from ..logs import setup_logging

    settings = Settings()
    if host is not None:
        settings = settings.model_copy(update={"host": host})
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    setup_logging(settings.log_format, settings.log_level)  # before the app: its start-up logs too
    keys = resolve_keys(settings)
    try:
        resolve_devices(settings.devices)  # a device this machine lacks is refused now, not at the first model
        secrets = resolve_secret_box(settings)
        app = create_app(settings, keys)
    except (SecretKeyError, ValueError) as exc:  # settings that cannot work: said once, no traceback
        error_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    shown_host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
    console.print(f"Tailor is serving at [bold]http://{shown_host}:{settings.port}[/] (API docs at /docs)")
    if keys.generated_at is not None:
        console.print(f"Training key: [bold]{keys.training[0]}[/]  (kept in {keys.generated_at})")
    if secrets.generated_at is not None:
        console.print(
            f"Secret key: kept in {secrets.generated_at} (back it up, apart from the database's backups: the SAS "
            "tokens kept there cannot be read without it)"
        )
    console.print(f"Metadata: {settings.resolved_database_url.split('@')[-1]}")
    # Logging is set up already (log_config=None: uvicorn leaves it as it is); tailor.access writes one line per
    # request, with its id, in place of uvicorn's access log.
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_config=None, log_level=settings.log_level.lower(),
        access_log=False,
    )
