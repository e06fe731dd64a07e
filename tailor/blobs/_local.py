"""Reading files on this machine, confined to the data roots when the policy has some."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import BlobAccessDenied, BlobNotFound, BlobRefused, BlobTooLarge, BlobUnreachable, BlobUnsupported

DATA_ROOTS_SETTING = "TAILOR_DATA_ROOTS"


class LocalReader:
    def __init__(self, data_roots: tuple[Path, ...] | None):
        # Roots are compared by their real paths, as the paths asked for are.
        self._roots = None if data_roots is None else tuple(root.expanduser().resolve() for root in data_roots)

    def read(self, path: Path, shown: str, max_bytes: int, truncate: bool) -> bytes:
        real = self._confined(path, shown)
        try:
            # Open the path that was checked, not the one given (which may go through symlinks).
            with real.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > max_bytes and not truncate:
                    raise BlobTooLarge(shown, max_bytes, size)
                return handle.read(max_bytes)
        except FileNotFoundError:
            raise BlobNotFound(shown, "no such file") from None
        except IsADirectoryError:
            raise BlobUnsupported(shown, "is a folder, not a file") from None
        except PermissionError:
            raise BlobAccessDenied(shown, "permission denied") from None
        except OSError as exc:
            raise BlobUnreachable(shown, exc.strerror or str(exc)) from None

    def _confined(self, path: Path, shown: str) -> Path:
        """The real path of `path` (symlinks and `..` resolved); BlobRefused when it lies outside every root.
        Nothing is opened before this check, so a refused path says nothing about whether it exists."""
        if self._roots == ():
            raise BlobRefused(
                shown, f"this server reads no local paths or file:// URIs ({DATA_ROOTS_SETTING} names no folder)"
            )
        try:
            real = path.resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            raise BlobUnreachable(shown, f"cannot resolve the path ({exc})") from None
        if self._roots is not None and not any(real.is_relative_to(root) for root in self._roots):
            raise BlobRefused(
                shown, f"the path is outside the allowed folders; the server reads only under {DATA_ROOTS_SETTING}"
            )
        return real
