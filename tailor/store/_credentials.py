"""The dataset columns that hold a user's credentials, sealed with the SecretBox (tailor.secrets) on their way into
the database and opened on their way out: `sas_token`, and each annotation URI that carries a SAS of its own (a
`sig=` in its query). Everything else in a row stays readable, so that the database can still be queried and
inspected. Revision 0003 and `tailor secrets rotate` (DatasetRecords.reseal) reseal these columns in place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..secrets import SecretBox

# A SAS signature in a URI's query: the rule tailor.blobs blanks signatures in messages by.
_SIGNED = re.compile(r"(?i)[?&]sig=")

Columns = tuple[str | None, list[str]]  # (sas_token, annotation_file_uris) as the table holds them


def holds_credentials(sas_token: str | None, uris: Sequence[str]) -> bool:
    return sas_token is not None or any(_SIGNED.search(uri) or SecretBox.is_sealed(uri) for uri in uris)


def sealed(box: SecretBox, sas_token: str | None, uris: Sequence[str]) -> Columns:
    """The columns to store for a plain token and plain URIs."""
    return _each(box.seal, sas_token, uris, signed_too=True)


def opened(box: SecretBox, sas_token: str | None, uris: Sequence[str], owner: str) -> Columns:
    """The plain values of stored columns (a value that was never sealed is read as it is)."""
    return _each(lambda value: box.open(value, owner), sas_token, uris, signed_too=False)


def resealed(box: SecretBox, sas_token: str | None, uris: Sequence[str], owner: str) -> Columns:
    """Stored columns sealed with the box's first key, whatever key (or none) sealed them before."""
    return _each(lambda value: box.reseal(value, owner), sas_token, uris, signed_too=True)


def _each(change: Callable[[str], str], sas_token: str | None, uris: Sequence[str], *, signed_too: bool) -> Columns:
    """`change` applied to the token and each sealed URI, and with `signed_too` to each plain URI with a SAS."""

    def credential(uri: str) -> bool:
        return SecretBox.is_sealed(uri) or (signed_too and _SIGNED.search(uri) is not None)

    return (
        change(sas_token) if sas_token is not None else None,
        [change(uri) if credential(uri) else uri for uri in uris],
    )
