"""`tailor worker`: a training worker on arq over Redis (TAILOR_REDIS_URL), for running at scale."""

from __future__ import annotations

import logging

from ..secrets import SecretKeyError
from ..settings import Settings
from ._render import error_console


def worker() -> None:
    """Run a training worker: takes jobs from Redis until stopped (Ctrl-C or SIGTERM finishes cleanly)."""
    import typer

    from ..workers.arq_worker import worker as make_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        arq_worker = make_worker(Settings())
    except ValueError as exc:
        error_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    try:
        arq_worker.run()
    except SecretKeyError as exc:  # the key does not open the database's tokens: found when the store connects
        error_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
