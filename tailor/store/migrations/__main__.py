"""`python -m tailor.store.migrations "what changes"`: drafts the next revision, versions/NNNN_what_changes.py, from
what tailor/store/_tables.py has that the revisions so far do not make (compared on a scratch SQLite database).

A draft, to read and finish by hand: autogenerate cannot tell a rename from a drop and an add, and moves no data.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from .._migrate import config, head, upgrade


def draft(message: str) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'draft.db'}")
        try:
            upgrade(engine)
            with engine.begin() as connection:
                script = command.revision(
                    config(connection), message=message, autogenerate=True, rev_id=f"{int(head()) + 1:04d}"
                )
        finally:
            engine.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f'usage: python -m tailor.store.migrations "what changes"\n\n{__doc__}')
    print(draft(sys.argv[1]))
