"""The one error this package raises on purpose besides ValueError for a bad argument."""

from __future__ import annotations

from ...errors import TailorError


class BackboneWeightsError(TailorError):
    """Pretrained weights that cannot be trusted or used: an offline package whose file does not match its own
    RECORD, a file whose tensors do not map onto the timm model, or converted weights that are missing."""
