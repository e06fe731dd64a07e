"""The `tailor` command. Each sub-command wires a domain function to arguments and output, nothing more."""

from __future__ import annotations

import typer

from .coco import app as coco_app
from .serve import serve
from .worker import worker

app = typer.Typer(
    name="tailor",
    help="Tailor: self-hosted model customization for computer vision.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(coco_app, name="coco")
app.command()(serve)
app.command()(worker)


def main() -> None:
    app()
