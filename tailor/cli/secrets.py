"""`tailor secrets ...`: the key that encrypts the credentials kept in the database (TAILOR_SECRET_KEY), and its
rotation."""

from __future__ import annotations

import typer
from rich.markup import escape

from ..secrets import SecretBox, SecretKeyError, resolve_secret_box
from ..settings import Settings
from ._render import console, error_console

app = typer.Typer(help="The key that encrypts the SAS tokens kept in the database.", no_args_is_help=True)

EXIT_DONE, EXIT_UNREADABLE, EXIT_SETTINGS = 0, 1, 2


@app.command("new-key")
def new_key() -> None:
    """Print a new random key for TAILOR_SECRET_KEY."""
    console.print(SecretBox.new_key())


@app.command()
def rotate() -> None:
    """Encrypt every credential in the database again with the first key of TAILOR_SECRET_KEY.

    To rotate: put the new key in front of the old one (TAILOR_SECRET_KEY=NEW,OLD), restart every process, run this
    with the same settings, then remove the old key and restart again.

    Exit status: 0 done, 1 some credentials no configured key opens (named), 2 settings that cannot work.
    """
    from ..store import Store  # imported here: `new-key` needs no database

    settings = Settings()
    try:
        store = Store.connect(settings.resolved_database_url, resolve_secret_box(settings))
    except SecretKeyError as exc:
        error_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_SETTINGS) from None
    try:
        result = store.datasets.reseal()
    finally:
        store.close()
    console.print(f"Encrypted again with the first key: the credentials of {result.datasets} dataset(s).")
    if result.unreadable:
        names = ", ".join(repr(name) for name in result.unreadable)
        error_console.print(
            f"[bold red]error:[/] no key of TAILOR_SECRET_KEY opens the credentials of {len(result.unreadable)} "
            f"dataset(s): {escape(names)}. Add the key they were encrypted with (after the first) and run this again, "
            "or register those datasets again with a new token."
        )
        raise typer.Exit(EXIT_UNREADABLE)
