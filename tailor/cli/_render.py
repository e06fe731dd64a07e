"""Human output of the CLI: a summary, problems grouped by code, a progress bar on long checks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..coco import Problem, ValidationReport

# soft_wrap: paths and messages stay on one line each, whole, for grep and copy.
console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)
SHOWN_PER_CODE = 10
SHOWN_CATEGORIES = 25


@contextmanager
def progress_bar(disable: bool = False) -> Iterator[Progress]:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=error_console,
        transient=True,
        disable=disable or not error_console.is_terminal,
    )
    with progress:
        yield progress


def print_report(report: ValidationReport, *, checked_images: bool) -> None:
    stats = report.dataset.stats()
    what = f"{report.kind.short}" + (" (multilabel)" if report.multilabel else "")
    usable = " usable" if report.errors else ""  # records with errors are not counted
    console.print(
        f"[bold]{what}[/] · {stats['images']:,}{usable} images · {stats['categories']:,}{usable} categories · "
        f"{stats['annotations']:,}{usable} annotations"
    )
    per_category = stats["imagesPerCategory"]
    if per_category:
        table = Table("category", "images", box=None, padding=(0, 2), show_edge=False)
        ranked = sorted(per_category.items(), key=lambda item: (-item[1], item[0]))
        for name, count in ranked[:SHOWN_CATEGORIES]:
            table.add_row(escape(name), f"{count:,}")
        if len(ranked) > SHOWN_CATEGORIES:
            table.add_row(f"... {len(ranked) - SHOWN_CATEGORIES:,} more", "")
        console.print(table)
    _print_group("error", "red", report.errors)
    _print_group("warning", "yellow", report.warnings)
    purpose = report.purpose.value if report.purpose else "registration"
    images_note = "" if checked_images else " (images not opened; add --check-images)"
    if report.valid:
        console.print(f"[bold green]✓ valid[/] for {purpose}{images_note}")
    else:
        n = len(report.errors)
        console.print(f"[bold red]✗ invalid[/] for {purpose}: {n:,} error{'s' if n != 1 else ''}")


def _print_group(label: str, colour: str, problems: list[Problem]) -> None:
    by_code: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_code[problem.code.value].append(problem)
    many_files = len({p.file for p in problems}) > 1
    for code, group in by_code.items():
        console.print(f"\n[bold {colour}]{label} {code}[/] ({len(group):,})")
        for problem in group[:SHOWN_PER_CODE]:
            where = f"{problem.file}: " if many_files and problem.file else ""
            console.print(f"  {escape(where + problem.path)}: {escape(problem.message)}")
        if len(group) > SHOWN_PER_CODE:
            console.print(f"  ... and {len(group) - SHOWN_PER_CODE:,} more (--json lists every one)")
