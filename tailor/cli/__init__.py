"""The `tailor` command. Each sub-command wires a domain function to arguments and output, nothing more.

May import: tailor.api, tailor.automl, tailor.blobs, tailor.coco, tailor.errors, tailor.files, tailor.logs,
tailor.secrets, tailor.settings, tailor.store, tailor.workers."""

from __future__ import annotations

import os

import typer

from .analyze import analyze
from .coco import app as coco_app
from .export import export
from .report import report
from .secrets import app as secrets_app
from .serve import serve
from .train import train
from .worker import worker

app = typer.Typer(
    name="tailor",
    help="Tailor: self-hosted model customization for computer vision.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(coco_app, name="coco")
app.add_typer(secrets_app, name="secrets")
app.command()(report)
app.command()(serve)
app.command()(train)
app.command()(analyze)
app.command()(export)
app.command()(worker)


def main() -> None:
    # The service runs inference and trainings side by side on the same cores; OpenMP threads that spin while they
    # wait (its default) then starve each other, and torch slows by an order of magnitude. Set before torch loads;
    # an operator's own value wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app()
