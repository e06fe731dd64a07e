"""Mapping an offline file's tensors onto a timm model's state dict, verified: every tensor of the model is
assigned exactly once, from a source tensor of the same shape, dtype and role, or nothing is converted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import timm
import torch

from ._errors import BackboneWeightsError
from ._spec import Backbone, TensorMapping


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: torch.dtype


def model_layout(backbone: Backbone) -> dict[str, TensorSpec]:
    """The timm model's state dict with the source's classifier, in order, as names -> specs."""
    # On the meta device: only names, shapes and order are needed, so no memory is filled or initialised.
    with torch.device("meta"):
        model = timm.create_model(backbone.timm_name, pretrained=False, num_classes=backbone.weights.num_classes)
    return {name: TensorSpec(tuple(t.shape), t.dtype) for name, t in model.state_dict().items()}


def convert(backbone: Backbone, source: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The source tensors under the timm model's names. Raises BackboneWeightsError listing every mismatch."""
    if backbone.weights.mapping is not TensorMapping.BY_POSITION:
        raise BackboneWeightsError(f"{backbone.name}: no converter for {backbone.weights.mapping}")
    return map_by_position(source, model_layout(backbone), label=backbone.name)


def map_by_position(
    source: Mapping[str, torch.Tensor], layout: Mapping[str, TensorSpec], *, label: str
) -> dict[str, torch.Tensor]:
    problems = []
    if len(source) != len(layout):
        problems.append(f"the source has {len(source)} tensors and the model {len(layout)}")
    # zip pairs each of the model's (unique) names with one source tensor, so each is assigned at most once; the
    # count check above makes it exactly once.
    for (name, spec), (source_name, tensor) in zip(layout.items(), source.items(), strict=False):
        got = TensorSpec(tuple(tensor.shape), tensor.dtype)
        if got != spec or _role(name) != _role(source_name):
            problems.append(f"{name} {_shown(spec)} <- {source_name} {_shown(got)}")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise BackboneWeightsError(f"{label}: the weights file does not map onto the model: {shown}")
    # contiguous and unshared, which safetensors requires
    return {name: tensor.contiguous().clone() for name, tensor in zip(layout, source.values(), strict=True)}


def _role(name: str) -> str:
    # the last part names what the tensor is to its layer: weight, bias, running_mean, running_var, ...
    return name.rsplit(".", 1)[-1]


def _shown(spec: TensorSpec) -> str:
    return f"{list(spec.shape)} {str(spec.dtype).removeprefix('torch.')}"
