"""`tailor worker`: a training worker on arq over Redis (TAILOR_REDIS_URL), for running at scale."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ..logs import setup_logging
from ..secrets import SecretKeyError
from ..settings import Settings
from ._render import error_console


def worker(
    devices: Annotated[
        str | None,
        typer.Option(
            help="Devices one training's trials run on side by side: `all` (every GPU), `cuda:0,cuda:1`, or CPU "
            "slots `cpu:0,cpu:1` (default: TAILOR_DEVICES, else one device, the GPU when there is one)."
        ),
    ] = None,
) -> None:
    """Run a training worker: takes jobs from Redis until stopped (Ctrl-C or SIGTERM finishes cleanly)."""
    from ..automl.devices import resolve_devices
    from ..workers.arq_worker import worker as make_worker

    settings = Settings()
    if devices is not None:
        settings = settings.model_copy(update={"devices": [name for name in devices.split(",") if name.strip()]})
    setup_logging(settings.log_format, settings.log_level)
    try:
        resolved = resolve_devices(settings.devices)  # a device this machine lacks is refused now, not at a job
        arq_worker = make_worker(settings)
    except ValueError as exc:
        error_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if resolved:
        logging.getLogger(__name__).info("trainings run their trials on %s", ", ".join(resolved))
    try:
        arq_worker.run()
    except SecretKeyError as exc:  # the key does not open the database's tokens: found when the store connects
        error_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
