"""`tailor coco ...`: validate COCO files the way the service will, and build them from folders."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from .. import coco
from ..blobs import read_annotation_file, read_blob
from ..errors import BlobError, BlobTooLarge
from ._render import console, error_console, print_report, progress_bar

app = typer.Typer(help="Validate and build COCO annotation files.", no_args_is_help=True)

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
DEFAULT_MAX_FILE_MB = 512


KINDS = "|".join(kind.short for kind in coco.AnnotationKind)


@app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="COCO files: local paths, file:// URIs or http(s) URLs.")],
    kind: Annotated[coco.AnnotationKind, typer.Option(
        "--kind", "-k", parser=coco.AnnotationKind.parse, metavar=f"<{KINDS}>", help="The annotation kind.",
    )],
    purpose: Annotated[coco.Purpose, typer.Option("--purpose", "-p", help="Whose quotas apply.")] = coco.Purpose.TRAINING,
    check_images: Annotated[
        bool, typer.Option("--check-images", help="Open every image: decodes, format, size, declared dimensions.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the summary.")] = False,
    max_file_mb: Annotated[
        int, typer.Option("--max-file-mb", min=1, help="Refuse annotation files larger than this (MB).")
    ] = DEFAULT_MAX_FILE_MB,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Images read at once with --check-images.")] = 8,
) -> None:
    """Check COCO files against the field reference and the quotas; several files are merged into one dataset.

    Exit status: 0 valid, 1 invalid, 2 usage or I/O error.
    """

    def sources() -> Iterator[coco.CocoSource | coco.Problem]:
        for name in dict.fromkeys(files):  # the same file named twice is read once
            try:
                yield read_annotation_file(name, max_bytes=max_file_mb * 1024 * 1024)
            except BlobTooLarge as exc:
                yield coco.Problem(
                    coco.ProblemCode.FILE_TOO_LARGE, "$",
                    f"the file is {_size(exc.size)}, over the {max_file_mb} MB limit for one annotation file: "
                    "split it into several files (a dataset takes up to 10) or raise --max-file-mb",
                    name,
                )
            except BlobError as exc:
                _fail(f"cannot read {exc}")

    with progress_bar(disable=as_json) as progress:
        task = progress.add_task("Checking annotations", total=None)
        report = coco.validate_coco(sources(), kind, purpose)
        progress.remove_task(task)
        if check_images and report.dataset.num_images:
            task = progress.add_task("Checking images", total=report.dataset.num_images)
            found = coco.check_images(
                report.dataset,
                lambda url, limit: read_blob(url, max_bytes=limit, truncate=True),
                purpose,
                concurrency=concurrency,
                on_progress=lambda n: progress.advance(task, n),
            )
            report = replace(report, errors=report.errors + found)

    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
    else:
        print_report(report, checked_images=check_images)
    raise typer.Exit(EXIT_VALID if report.valid else EXIT_INVALID)


@app.command("import-folder")
def import_folder(
    root: Annotated[Path, typer.Argument(help="A folder with one sub-folder of images per label.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the COCO file.")],
    base_url: Annotated[
        str | None,
        typer.Option(help="Where the same tree is uploaded (e.g. a blob container URL); default: file:// URIs."),
    ] = None,
) -> None:
    """Write a COCO classification file from a folder per label: ROOT/apple/*.jpg, ROOT/banana/*.jpg, ..."""
    try:
        result = coco.import_folder(root, base_url)
    except OSError as exc:
        _fail(str(exc))
    try:
        output.write_bytes(msgspec.json.format(msgspec.json.encode(result.coco), indent=1))
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    for path, why in result.skipped:
        error_console.print(f"skipped {path}: {why}")
    labels = len(result.coco.categories)
    console.print(
        f"Wrote {output}: {len(result.coco.images)} images in {labels} label{'s' if labels != 1 else ''}"
        + (f", {len(result.skipped)} files skipped" if result.skipped else "")
    )
    if not result.coco.images:
        error_console.print(f"no images found: put each label's images in its own folder under {root}")
        raise typer.Exit(EXIT_INVALID)


def _fail(message: str) -> None:
    error_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


def _size(n: float | None) -> str:
    if n is None:
        return "too large"
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} bytes"

