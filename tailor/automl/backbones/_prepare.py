"""Turning the installed offline packages (and the operator's TAILOR_BACKBONES) into safetensors files once, and
telling which backbones are usable."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from ._convert import convert, model_layout
from ._files import check_weights, weights_path, write_weights
from ._operator import OperatorSource, operator_backbones, prepare_operator_backbones
from ._registry import BACKBONES, registry_of
from ._sources import InstalledFile, NotInstalled, find_installed, read_state_dict
from ._spec import Backbone

log = logging.getLogger(__name__)


def prepare_weights(
    weights_dir: Path, registry: Mapping[str, Backbone] = BACKBONES, operator: list[OperatorSource] | None = None
) -> dict[str, Path]:
    """name -> converted weights file, for every backbone whose offline package is installed. A sound file already
    there, converted from the same package file, is reused untouched; anything else is (re)converted. Backbones whose
    package is missing are left out with a logged line naming what to install. With `operator` (TAILOR_BACKBONES,
    parsed by parse_backbones), the operator's backbones are converted too and those no longer named are removed."""
    weights_dir.mkdir(parents=True, exist_ok=True)
    prepared = {}
    for backbone in registry.values():
        path = _prepare_one(weights_dir, backbone)
        if path is not None:
            prepared[backbone.name] = path
    if operator is not None:
        prepared.update(prepare_operator_backbones(weights_dir, operator))
    return prepared


def registry_for(weights_dir: Path) -> Mapping[str, Backbone]:
    """The bundled backbones and the operator's recorded in `weights_dir`."""
    return registry_of(*BACKBONES.values(), *operator_backbones(weights_dir).values())


def available_backbones(weights_dir: Path, registry: Mapping[str, Backbone] | None = None) -> list[Backbone]:
    """The backbones whose converted weights are present and sound in `weights_dir` (see prepare_weights); by
    default the bundled ones and the operator's."""
    available = []
    for backbone in (registry_for(weights_dir) if registry is None else registry).values():
        path = weights_path(weights_dir, backbone.name)
        problem, _ = check_weights(path, model_layout(backbone))
        if problem is None:
            available.append(backbone)
        else:
            log.warning("backbone %s left out: weights file %s %s; %s", backbone.name, path, problem,
                        backbone.weights.how_to_get)
    return available


def _prepare_one(weights_dir: Path, backbone: Backbone) -> Path | None:
    installed = find_installed(backbone.weights)
    if isinstance(installed, NotInstalled):
        log.warning("backbone %s left out: %s", backbone.name, installed.reason)
        return None
    path = weights_path(weights_dir, backbone.name)
    layout = model_layout(backbone)
    problem, metadata = check_weights(path, layout)
    if problem is None and metadata.get("source_sha256") == installed.sha256:
        return path
    if path.exists():
        log.warning("weights file %s %s: converting it again", path, problem or "is from another package version")
    _convert_into(path, backbone, installed)
    return path


def _convert_into(path: Path, backbone: Backbone, installed: InstalledFile) -> None:
    tensors = convert(backbone, read_state_dict(installed))
    source = f"{backbone.weights.distribution}=={installed.version}:{backbone.weights.path}"
    write_weights(path, tensors, source=source, source_sha256=installed.sha256)
    log.info("backbone %s: converted %s into %s", backbone.name, source, path)
