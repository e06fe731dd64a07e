"""Credentials Tailor keeps for users (a dataset's SAS token, a SAS inside an annotation URI), encrypted at rest.

The store seals them on their way into the database and opens them on their way out (tailor.store._credentials):
the domain and the wire only ever hold the plain value, in memory. Sealing is `cryptography`'s Fernet
(AES-128-CBC with an HMAC-SHA256, so that an altered value is refused rather than decrypted to garbage) under
TAILOR_SECRET_KEY, which takes several comma-separated keys for rotation: MultiFernet seals with the first and opens
with any, and `reseal` (`tailor secrets rotate`) moves a value to the first.

    box = resolve_secret_box(settings)     # the configured keys, or the generated one of the embedded default
    stored = box.seal("sv=...&sig=...")    # "fernet:gAAAAA..."
    box.open(stored, "dataset 'fruit'")    # the token again; SecretUnreadable when no configured key opens it

With no TAILOR_SECRET_KEY and an SQLite database (the embedded default: one host) a key is generated on first start
and kept in the data directory, mode 0600, as the training key is. With PostgreSQL the database is shared by
processes on many hosts, and a key generated on one would not open what another sealed: there the setting is
required, and a process without it refuses to start.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .errors import SecretUnreadable, TailorError

if TYPE_CHECKING:
    from .settings import Settings

KEY_FILE = "secret.key"
# Marks a sealed value. A SAS token or a URI Tailor reads never starts with it, so a value without it was stored in
# plain text (by a Tailor older than revision 0003 still running during an upgrade) and is read as it is.
PREFIX = "fernet:"


class SecretKeyError(TailorError, ValueError):
    """TAILOR_SECRET_KEY is missing, malformed, or does not open what the database holds: the process does not
    start (a ValueError, as the CLI reports other settings that cannot work)."""


class SecretBox:
    """Seals and opens credentials with the configured keys. With no keys at all (a Store opened without a box) it
    reads only what was never sealed and refuses to seal anything."""

    def __init__(self, keys: Sequence[str], *, source: str = "TAILOR_SECRET_KEY", generated_at: Path | None = None):
        fernets = []
        for position, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise SecretKeyError(
                    f"{source}: key {position} of {len(keys)} is not a Fernet key (32 random bytes in url-safe "
                    "base64, 44 characters); make one with `tailor secrets new-key`"
                ) from None
        self._fernet = MultiFernet(fernets) if fernets else None
        self.key_count = len(fernets)
        self.generated_at = generated_at  # where a generated key is kept, if it was generated

    def __repr__(self) -> str:  # never the keys
        return f"SecretBox({self.key_count} key{'s' if self.key_count != 1 else ''})"

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(PREFIX)

    def seal(self, plain: str) -> str:
        return PREFIX + self._keys().encrypt(plain.encode()).decode()

    def open(self, stored: str, owner: str) -> str:
        """The plain value of `stored`; `owner` ("dataset 'fruit'") names it in the error when no key opens it."""
        if not self.is_sealed(stored):
            return stored
        if self._fernet is None:
            raise SecretUnreadable(owner, "no TAILOR_SECRET_KEY was given")
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(owner, "no key of TAILOR_SECRET_KEY opens it") from None

    def reseal(self, stored: str, owner: str) -> str:
        """`stored` sealed with the first key: a plain value sealed, a sealed one decrypted with whichever key opens
        it and encrypted again with the first."""
        if not self.is_sealed(stored):
            return self.seal(stored)
        try:
            return PREFIX + self._keys().rotate(stored[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(owner, "no key of TAILOR_SECRET_KEY opens it") from None

    def _keys(self) -> MultiFernet:
        if self._fernet is None:
            raise SecretKeyError("no TAILOR_SECRET_KEY was given: a credential cannot be stored without one")
        return self._fernet


def resolve_secret_box(settings: Settings) -> SecretBox:
    """The box of TAILOR_SECRET_KEY; without it, the generated key of the embedded default, or SecretKeyError when
    the database is shared between hosts."""
    configured = settings.secret_key.get_secret_value() if settings.secret_key else ""
    keys = [part.strip() for part in configured.split(",") if part.strip()]
    if keys:
        return SecretBox(keys)
    if not settings.resolved_database_url.startswith("sqlite"):
        raise SecretKeyError(
            "TAILOR_SECRET_KEY is not set: with a shared database (TAILOR_DATABASE_URL) every API replica and worker "
            "needs the same key to read the SAS tokens kept there, and a key generated on one host would not be on "
            "the others. Make one with `tailor secrets new-key` and give it to every process."
        )
    path = settings.data_dir / KEY_FILE
    return SecretBox([keep_generated(path, SecretBox.new_key)], source=str(path), generated_at=path)


def keep_generated(path: Path, make: Callable[[], str]) -> str:
    """The key kept at `path`, made by `make` and written there (mode 0600) the first time. It is written to a
    temporary file and linked into place, so that a process starting at the same moment reads the whole key, never
    an empty file, and two processes never keep two keys."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp: mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make() + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process kept its key first: that one is read below
    finally:
        os.unlink(temporary)
    return path.read_text().strip()
