"""`tailor report MODEL [EVALUATION] -o DIR`: a report fetched from a Tailor server and written as files (the HTML
page, report.json and every plot), to open in a browser or keep. A client like `train` and `analyze`: the same
server, key and errors (`_client`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._client import DEFAULT_ENDPOINT, EndpointOption, KeyOption, Service, quoted


def report(
    model: Annotated[str, typer.Argument(help="The model's name.")],
    evaluation: Annotated[
        str | None, typer.Argument(help="An evaluation of the model; without it, the model's own report.")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the report into.")] = Path("."),
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    key: KeyOption = None,
) -> None:
    """Write a report (report.html, report.json and its plots) into a folder."""
    base = f"models/{quoted(model)}"
    if evaluation is not None:
        base += f"/evaluations/{quoted(evaluation)}"
    with Service(endpoint, key) as service:
        described = service.call("GET", f"{base}/report.json")
        files = {"report.json": described.content, "report.html": service.call("GET", f"{base}/report").content}
        for name in described.json().get("files", []):
            files[name] = service.call("GET", f"{base}/report/{quoted(name)}").content
    output.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (output / Path(name).name).write_bytes(content)  # names from the server never leave the folder
    typer.echo(f"{len(files)} files written to {output}; open {output / 'report.html'}")
