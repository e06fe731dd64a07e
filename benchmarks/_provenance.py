"""What a benchmark run measured: the commit of Tailor's code, for the results file and the README's tables."""

from __future__ import annotations

import subprocess
from pathlib import Path


def code_version() -> str:
    """The commit the run measured (plus '+changes' when tailor/ differs from it): Tailor's code is what is timed."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False,
                              cwd=Path(__file__).resolve().parent)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no", "--", ":/tailor") else "")
