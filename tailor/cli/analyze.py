"""`tailor analyze MODEL IMAGE...`: images (files, or http(s) URLs the server fetches) analyzed by a trained model on
a running Tailor; the tags with their confidences, or a detector's boxes, as a table; --json the raw results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ._client import DEFAULT_ENDPOINT, EndpointOption, KeyOption, Service, api_error, fail
from ._render import console, error_console


def analyze(
    model: Annotated[str, typer.Argument(help="A model that has succeeded.")],
    images: Annotated[list[str], typer.Argument(help="Image files, or http(s) URLs for the server to fetch.")],
    top: Annotated[int, typer.Option(min=1, help="Tags shown per image (a classifier's).")] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {image: customModelResult} as one JSON object.")
    ] = False,
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    key: KeyOption = None,
) -> None:
    """Analyze images with a custom model: tags with confidences, or boxes."""
    missing = [image for image in images if not _is_url(image) and not Path(image).is_file()]
    if missing:
        error_console.print(f"[bold red]error:[/] no such file: {escape(', '.join(missing))}")
        raise typer.Exit(2)
    results: dict[str, Any] = {}
    failed = 0
    with Service(endpoint, key) as service:
        for image in images:
            if _is_url(image):
                request: dict[str, Any] = {"json": {"url": image}}
            else:
                request = {"content": Path(image).read_bytes(), "headers": {"Content-Type": "application/octet-stream"}}
            response = _post(service, model, request)
            if response.status_code == 400:  # this image's fault: say so and go on with the others
                code, message = api_error(response)
                error_console.print(f"[bold red]error:[/] {escape(image)}: 400 {escape(code)}: {escape(message)}")
                failed += 1
                continue
            if response.is_error:  # the model, the key or the server: the same for every image
                fail(response)
            body = response.json()
            results[image] = body.get("customModelResult", {})
            if not as_json:
                _print_result(image, body, top)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    if failed:
        raise typer.Exit(1)


def _post(service: Service, model: str, request: dict[str, Any]):
    import httpx

    try:
        return service.http.post("/imageanalysis:analyze", params={"model-name": model}, **request)
    except httpx.HTTPError as exc:
        error_console.print(f"[bold red]error:[/] cannot reach {escape(service.endpoint)}: {escape(str(exc))}")
        raise typer.Exit(2) from None


def _is_url(image: str) -> bool:
    return image.startswith(("http://", "https://"))


def _print_result(image: str, body: dict[str, Any], top: int) -> None:
    meta = body.get("metadata") or {}
    size = f" ({meta['width']}x{meta['height']})" if "width" in meta and "height" in meta else ""
    console.print(f"[bold]{escape(image)}[/]{size}")
    result = body.get("customModelResult") or {}
    if "objectsResult" in result:
        objects = result["objectsResult"].get("values") or []
        table = Table("tag", "confidence", "x", "y", "w", "h", box=None, padding=(0, 2), show_edge=False)
        for found in objects:
            best = max(found.get("tags") or [{}], key=lambda t: t.get("confidence", 0))
            box = found.get("boundingBox") or {}
            table.add_row(escape(str(best.get("name", ""))), _confidence(best.get("confidence")),
                          *[str(box.get(k, "")) for k in ("x", "y", "w", "h")])
        console.print(table if objects else "  no objects found")
        return
    tags = (result.get("tagsResult") or {}).get("values") or []
    table = Table("tag", "confidence", box=None, padding=(0, 2), show_edge=False)
    for tag in tags[:top]:
        table.add_row(escape(str(tag.get("name", ""))), _confidence(tag.get("confidence")))
    if len(tags) > top:
        table.add_row(f"... {len(tags) - top} more", "")
    console.print(table)


def _confidence(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else ""
