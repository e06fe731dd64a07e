"""`tailor train DATASET MODEL --budget H [--detector] [--watch]`: an Image Analysis model created on a running
Tailor, and with --watch its training followed to the end with a progress bar of the budget used."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ._client import API_VERSION, DEFAULT_ENDPOINT, EndpointOption, KeyOption, Service, quoted
from ._render import console, error_console

FINAL = {"succeeded", "failed", "cancelled"}
INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C


def train(
    dataset: Annotated[str, typer.Argument(help="The registered training dataset.")],
    model: Annotated[str, typer.Argument(help="A name for the new model.")],
    budget: Annotated[float, typer.Option("--budget", help="Training budget in hours (fractions allowed, e.g. 0.02).")],
    detector: Annotated[bool, typer.Option("--detector", help="An object detector (Generic-Detector).")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Follow the training to the end with a progress bar.")] = False,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between polls while watching.")] = 2.0,
    endpoint: EndpointOption = DEFAULT_ENDPOINT,
    key: KeyOption = None,
) -> None:
    """Train a model on a dataset (Generic-Classifier, or Generic-Detector with --detector)."""
    kind = "Generic-Detector" if detector else "Generic-Classifier"
    body = {"trainingParameters": {"trainingDatasetName": dataset, "timeBudgetInHours": budget, "modelKind": kind}}
    with Service(endpoint, key) as service:
        path = f"/models/{quoted(model)}"
        created = service.call("PUT", path, json=body).json()
        console.print(
            f"Model [bold]{escape(model)}[/] created: {kind} on dataset {escape(dataset)}, budget {budget:g} h "
            f"(status {created.get('status')})"
        )
        if not watch:
            console.print(f"Follow it with GET /computervision/models/{quoted(model)}, or pass --watch next time.")
            return
        try:
            final = _watch(service, path, model, interval)
        except KeyboardInterrupt:
            error_console.print(
                f"\nStopped watching; [bold]{escape(model)}[/] is still training on the server. To cancel it:\n"
                f"  curl -X POST '{service.endpoint}/computervision/models/{quoted(model)}:cancel"
                f"?api-version={API_VERSION}' -H \"Ocp-Apim-Subscription-Key: $KEY\""
            )
            raise typer.Exit(INTERRUPTED) from None
    _print_final(final)
    if final["status"] != "succeeded":
        raise typer.Exit(1)


def _watch(service: Service, path: str, model: str, interval: float) -> dict[str, Any]:
    """Poll the model until it reaches a final state: the bar is the budget used, with phase, trials and best score;
    each new phase is also a line of its own (what stays in a log when the output is not a terminal)."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    )
    phase = None
    with progress:
        task = progress.add_task(escape(model), total=None, detail="")
        while True:
            record = service.call("GET", path).json()
            status = record.get("status", "")
            shown = _phase(record)
            used, total, detail = _figures(record)
            progress.update(task, description=f"{escape(model)} {escape(shown)}", completed=used, total=total,
                            detail=detail)
            if shown != phase:
                progress.console.print(f"{escape(model)}: {escape(shown)}" + (f" ({detail})" if detail else ""))
                phase = shown
            if status in FINAL:
                return record
            _pause(interval)


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _phase(record: dict[str, Any]) -> str:
    status = record.get("status", "")
    phase = (record.get("trainingProgress") or {}).get("phase")
    return f"{status} · {phase}" if status == "training" and phase else status


def _figures(record: dict[str, Any]) -> tuple[float, float | None, str]:
    """(seconds of budget used, seconds of budget, 'trials · best · used/total')."""
    progress = record.get("trainingProgress") or {}
    hours = (record.get("trainingParameters") or {}).get("timeBudgetInHours")
    total = progress.get("budgetSeconds") or (hours * 3600 if hours else None)
    used = float(progress.get("budgetUsedSeconds") or 0.0)
    parts = []
    if progress.get("trialsDone") is not None:
        parts.append(f"trials {progress['trialsDone']}")
    if progress.get("bestValidationScore") is not None:
        parts.append(f"best {progress['bestValidationScore']:.4f}")
    if total:
        parts.append(f"budget {used:.0f}/{total:.0f} s")
    return used, total, " · ".join(parts)


def _print_final(record: dict[str, Any]) -> None:
    status = record.get("status")
    name = escape(str(record.get("name", "")))
    cost = record.get("trainingCostInMinutes")
    if status == "succeeded":
        console.print(f"[bold green]✓ {name} succeeded[/] (training cost {cost} min)")
        _print_performance(record.get("modelPerformance") or {})
        return
    error = record.get("error") or {}
    console.print(f"[bold red]✗ {name} {status}[/]" + (f" (training cost {cost} min)" if cost is not None else ""))
    if error:
        code, message = escape(str(error.get("code"))), escape(str(error.get("message")))
        error_console.print(f"[bold red]error:[/] {code}: {message}")


def _print_performance(performance: dict[str, Any]) -> None:
    figures = {k: v for k, v in performance.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if figures:
        console.print(" · ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    tags = performance.get("tagPerformance") or {}
    if tags:
        columns = sorted({c for v in tags.values() if isinstance(v, dict) for c in v})
        table = Table("tag", *columns, box=None, padding=(0, 2), show_edge=False)
        for tag, values in tags.items():
            table.add_row(escape(tag), *[_number(values.get(c)) for c in columns])
        console.print(table)


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "" if value is None else str(value)
