"""Keys: a training key for every call, a prediction key for analyze only, several of each for rotation.

With no training key configured, the embedded default generates one on first start and keeps it in the data
directory (mode 0600), so a restart keeps the same key.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..secrets import keep_generated
from ..settings import Settings

KEY_FILE = "training.key"


@dataclass(frozen=True)
class Keys:
    training: tuple[str, ...]
    prediction: tuple[str, ...] = ()
    generated_at: Path | None = None  # where a generated training key is kept, if it was generated

    def allows(self, offered: str | None, *, prediction_call: bool) -> bool:
        if not offered:
            return False
        candidates = self.training + (self.prediction if prediction_call else ())
        offered_bytes = offered.encode()
        # Every candidate is compared, in constant time each, so timing tells nothing about which key is close.
        return any([hmac.compare_digest(offered_bytes, key.encode()) for key in candidates])  # noqa: C419 (a list: every one compared)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def resolve_keys(settings: Settings) -> Keys:
    prediction = _split(settings.prediction_key.get_secret_value()) if settings.prediction_key else ()
    if settings.training_key and _split(settings.training_key.get_secret_value()):
        return Keys(_split(settings.training_key.get_secret_value()), prediction)
    path = settings.data_dir / KEY_FILE
    return Keys((keep_generated(path, lambda: secrets.token_urlsafe(32)),), prediction, generated_at=path)
