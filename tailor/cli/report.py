"""`tailor report MODEL [EVALUATION] -o DIR`: a report fetched from a Tailor server and written as files (the HTML
page, report.json and every plot), to open in a browser or keep."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer

from ._render import error_console

API_VERSION = "2023-04-01-preview"


def report(
    model: Annotated[str, typer.Argument(help="The model's name.")],
    evaluation: Annotated[
        str | None, typer.Argument(help="An evaluation of the model; without it, the model's own report.")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the report into.")] = Path("."),
    endpoint: Annotated[
        str | None, typer.Option(help="The Tailor server. [env: TAILOR_ENDPOINT; default http://127.0.0.1:8000]")
    ] = None,
    key: Annotated[str | None, typer.Option(help="A training key. [env: TAILOR_KEY, else TAILOR_TRAINING_KEY]")] = None,
) -> None:
    """Write a report (report.html, report.json and its plots) into a folder."""
    import httpx

    endpoint = (endpoint or os.environ.get("TAILOR_ENDPOINT") or "http://127.0.0.1:8000").rstrip("/")
    key = key or os.environ.get("TAILOR_KEY") or (os.environ.get("TAILOR_TRAINING_KEY") or "").split(",")[0]
    base = f"{endpoint}/computervision/models/{quote(model, safe='')}"
    if evaluation is not None:
        base += f"/evaluations/{quote(evaluation, safe='')}"
    with httpx.Client(headers={"Ocp-Apim-Subscription-Key": key}, params={"api-version": API_VERSION},
                      timeout=60) as client:
        try:
            described = _get(client, f"{base}/report.json")
            files = {"report.json": described.content, "report.html": _get(client, f"{base}/report").content}
            for name in described.json().get("files", []):
                files[name] = _get(client, f"{base}/report/{quote(name, safe='')}").content
        except httpx.HTTPError as exc:
            error_console.print(f"[bold red]error:[/] cannot reach {endpoint}: {exc}")
            raise typer.Exit(2) from None
    output.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (output / Path(name).name).write_bytes(content)  # names from the server never leave the folder
    typer.echo(f"{len(files)} files written to {output}; open {output / 'report.html'}")


def _get(client, url: str):
    response = client.get(url)
    if response.is_error:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:300]
        error_console.print(f"[bold red]error:[/] {response.status_code}: {message}")
        raise typer.Exit(1)
    return response
