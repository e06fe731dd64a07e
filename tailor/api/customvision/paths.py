"""Where the Custom Vision face lives: the versions its SDKs call, as path prefixes."""

from __future__ import annotations

BASE_PATH = "/customvision"
TRAINING_PREFIXES = ("/customvision/v3.4-preview/training", "/customvision/v3.3/training")  # SDK 3.1.x, 3.0
PREDICTION_PREFIXES = ("/customvision/v3.1/prediction", "/customvision/v3.0/prediction")


def is_custom_vision(path: str) -> bool:
    return path == BASE_PATH or path.startswith(BASE_PATH + "/")


def is_prediction_call(path: str) -> bool:
    return path.startswith(PREDICTION_PREFIXES)
DOWNLOADS_PATH = "/customvision/downloads"  # files whose link is their credential (an export's downloadUri): no key


def is_download(path: str) -> bool:
    return path.startswith(DOWNLOADS_PATH + "/")
