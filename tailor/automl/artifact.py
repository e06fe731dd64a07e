"""The model artifact: safetensors weights plus a JSON config, enough to rebuild the network without pickle, without
the training code and without the weights directory.

A model is one or more members, each a timm backbone with a linear head and the preprocessing its backbone expects;
their probabilities are averaged, each weighted by the evidence the search had for it (softmax for single-label
models, per-tag sigmoid for multilabel ones; a member without a weight, from an older Tailor, weighs 1).

    model.safetensors   members.<i>.backbone.*, members.<i>.head.weight, members.<i>.head.bias
    config.json         {"format": 2, "task": "classification", "class_names": [...], "multilabel": ...,
                         "thresholds": [...] | null, "members": [{"backbone", "timm_name", "preprocess", "recipe", "weight"}],
                         "search": {...}}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import timm
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..enums import AnnotationKind
from ..errors import InternalFailure
from ..files import staged_folder
from .backbones import Backbone, Preprocess
from .features import at_size
from .images import KEEP_SIDE

FORMAT = 2
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class ArtifactError(InternalFailure):
    """The folder does not hold a model this version of Tailor can load."""


def task_of(config: dict[str, Any]) -> AnnotationKind:
    """What a config.json's `task` says the model is (a classifier when it says nothing, as Tailor's first ones)."""
    try:
        return AnnotationKind.parse(str(config.get("task", AnnotationKind.CLASSIFICATION.short)))
    except ValueError as exc:
        raise ArtifactError(f"the model's config.json: {exc}") from exc


@dataclass(frozen=True)
class MemberConfig:
    backbone: str  # the registry name
    timm_name: str
    preprocess: Preprocess
    recipe: dict[str, Any]  # how it was trained, for people and reports
    weight: float = 1.0  # its share of the average (relative to the other members')

    @classmethod
    def of(cls, backbone: Backbone, input_size: int, recipe: dict[str, Any], weight: float = 1.0) -> MemberConfig:
        return cls(backbone.name, backbone.timm_name, at_size(backbone.preprocess, input_size), recipe, weight)

    def to_json(self) -> dict[str, Any]:
        preprocess = {**asdict(self.preprocess), "resize_size": self.preprocess.resize_size}
        return {"backbone": self.backbone, "timm_name": self.timm_name, "preprocess": preprocess, "recipe": self.recipe,
                "weight": self.weight}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MemberConfig:
        p = data["preprocess"]
        preprocess = Preprocess(p["input_size"], p["crop_pct"], p["interpolation"], tuple(p["mean"]), tuple(p["std"]))
        return cls(data["backbone"], data["timm_name"], preprocess, dict(data.get("recipe", {})),
                   float(data.get("weight", 1.0)))


@dataclass(frozen=True)
class ArtifactConfig:
    class_names: tuple[str, ...]
    multilabel: bool
    thresholds: tuple[float, ...] | None  # per tag, multilabel only
    members: tuple[MemberConfig, ...]
    search: dict[str, Any]  # validation score, trials, budget: what the search found
    keep_side: int = KEEP_SIDE  # the shorter side its images were kept at in training (images.keep_side_for)

    def preprocess_groups(self) -> dict[Preprocess, list[int]]:
        """The members by preprocessing, in the order they first appear: members that share one share its input."""
        groups: dict[Preprocess, list[int]] = {}
        for i, member in enumerate(self.members):
            groups.setdefault(member.preprocess, []).append(i)
        return groups

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "task": AnnotationKind.CLASSIFICATION.short,
            "class_names": list(self.class_names),
            "multilabel": self.multilabel,
            "thresholds": None if self.thresholds is None else [float(t) for t in self.thresholds],
            "members": [member.to_json() for member in self.members],
            "search": self.search,
            "keep_side": self.keep_side,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactConfig:
        if data.get("format") != FORMAT or task_of(data) is not AnnotationKind.CLASSIFICATION:
            raise ArtifactError(
                f"artifact format {data.get('format')!r} ({data.get('task')!r}) is not classification format {FORMAT}: "
                "retrain the model with this version of Tailor"
            )
        thresholds = data.get("thresholds")
        return cls(
            tuple(data["class_names"]),
            bool(data["multilabel"]),
            None if thresholds is None else tuple(float(t) for t in thresholds),
            tuple(MemberConfig.from_json(member) for member in data["members"]),
            dict(data.get("search", {})),
            int(data.get("keep_side", KEEP_SIDE)),  # models from before it was recorded: every one was kept at 320
        )


class Classifier(nn.Module):
    """Backbone features into a linear head: one member of an exported model."""

    def __init__(self, backbone: nn.Module, head: nn.Linear):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


class Ensemble(nn.Module):
    """The members, each called on the images preprocessed its own way (see predictor.Predictor)."""

    def __init__(self, members: list[Classifier]):
        super().__init__()
        self.members = nn.ModuleList(members)


def write_artifact(directory: Path, members: list[Classifier], config: ArtifactConfig) -> Path:
    """Write both files into a fresh temporary folder, then rename it into place: never a half-written model."""
    if len(members) != len(config.members):
        raise ValueError(f"{len(members)} networks for {len(config.members)} member configs")
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in Ensemble(members).state_dict().items()}
    with staged_folder(directory) as staging:
        save_file(state, str(staging / WEIGHTS_FILE))
        (staging / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=1))
    return directory


def read_config(directory: Path) -> ArtifactConfig:
    try:
        return ArtifactConfig.from_json(json.loads((directory / CONFIG_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{directory / CONFIG_FILE} cannot be read as a model config: {exc}") from exc


def read_artifact(directory: Path) -> tuple[ArtifactConfig, Ensemble]:
    """The config and the network in evaluation mode, on the CPU. Every architecture is built without pretrained
    weights (nothing is fetched) and every tensor must come from the file."""
    config = read_config(directory)
    state = load_file(str(directory / WEIGHTS_FILE))
    members = []
    for i, member in enumerate(config.members):
        backbone = timm.create_model(member.timm_name, pretrained=False, num_classes=0)
        head_weight = state.get(f"members.{i}.head.weight")
        if head_weight is None:
            raise ArtifactError(f"{directory / WEIGHTS_FILE} has no head for member {i}")
        members.append(Classifier(backbone, nn.Linear(head_weight.shape[1], head_weight.shape[0])))
    network = Ensemble(members)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ArtifactError(f"{directory / WEIGHTS_FILE} does not match its config: {exc}") from exc
    return config, network.eval()
