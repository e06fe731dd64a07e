"""`tailor worker`: a training worker on arq over Redis (TAILOR_REDIS_URL), for running at scale."""

from __future__ import annotations

from ..logs import setup_logging
from ..secrets import SecretKeyError
from ..settings import Settings
from ._render import error_console


def worker() -> None:
    """Run a training worker: takes jobs from Redis until stopped (Ctrl-C or SIGTERM finishes cleanly)."""
    import typer

    from ..workers.arq_worker import worker as make_worker

    settings = Settings()
    setup_logging(settings.log_format, settings.log_level)
    try:
        arq_worker = make_worker(settings)
    except ValueError as exc:
        error_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    try:
        arq_worker.run()
    except SecretKeyError as exc:  # the key does not open the database's tokens: found when the store connects
        error_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
