"""`tailor export MODEL -o DIR`: a succeeded model downloaded from a running Tailor as one ONNX file, DIR/MODEL.onnx,
ready for samples/onnx_predict.py or any ONNX Runtime (the README's Export section says how to prepare its input)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..files import write_whole
from ._client import DEFAULT_ENDPOINT, EndpointOption, KeyOption, Service, quoted
from ._render import console

EXPORT_TIMEOUT_S = 300  # the first export of a model is made on the server (seconds; a detector's the longest)


def export(
    model: Annotated[str, typer.Argument(help="A model that has succeeded.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The folder to write MODEL.onnx into.",
                                         file_okay=False)] = Path("."),
    export_format: Annotated[str, typer.Option("--format", help="What to export to.")] = "onnx",
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    key: KeyOption = None,
) -> None:
    """Export a trained model to one ONNX file that runs without Tailor."""
    with Service(endpoint, key, timeout=EXPORT_TIMEOUT_S) as service, console.status(f"exporting {escape(model)}..."):
        response = service.call("GET", f"/models/{quoted(model)}/export", params={"format": export_format})
    target = output / f"{model}.{export_format.lower()}"
    write_whole(target, response.content)  # an interrupted write never leaves a half file under its name
    console.print(f"{escape(str(target))} ({len(response.content) / 1e6:.1f} MB)")
