"""Backbones an operator adds by setting (`TAILOR_BACKBONES`): any timm architecture, with its weights from a local
file (safetensors, or a torch state dict) or, where the operator writes an `hf-hub:` source and the machine has the
network, from the Hugging Face hub through timm.

    TAILOR_BACKBONES="convnext_nano=/models/convnext_nano.safetensors,vit_small_patch14_dinov2=hf-hub:timm/vit_small_patch14_dinov2.lvd142m"

Each is converted once, like the bundled ones, into the weights folder: `<name>.safetensors` (the headless
network's tensors, with their digest) beside `<name>.backbone.json` (the Backbone record: timm architecture,
preprocessing from timm's pretrained config, feature width, cost, and the source file's sha256). Everything that
builds a backbone from a weights folder finds the records there, so the search, the detector and the trial
processes need no other registry; a trained model's artifact names its architecture and preprocessing itself and
is served without the record.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import pickle
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import safetensors
import safetensors.torch
import timm
import torch
from torch import nn

from ...files import write_whole
from ._convert import model_layout
from ._errors import BackboneWeightsError
from ._files import check_weights, tensor_digest, weights_path, write_weights
from ._spec import Backbone, Preprocess, WeightsSource

log = logging.getLogger(__name__)

HUB_PREFIX = "hf-hub:"
RECORD_SUFFIX = ".backbone.json"
RECORD_FORMAT = "tailor.operator-backbone/1"
_STATE_KEYS = ("state_dict", "model", "state_dict_ema", "model_ema")  # where training scripts nest the weights


@dataclass(frozen=True)
class OperatorSource:
    """One entry of TAILOR_BACKBONES: a timm architecture (also its registry name) and where its weights are."""

    name: str
    source: str  # a file path, or hf-hub:<repo>

    @property
    def from_hub(self) -> bool:
        return self.source.startswith(HUB_PREFIX)


def parse_backbones(entries: list[str], *, reserved: Mapping[str, Backbone]) -> list[OperatorSource]:
    """`name=source` entries (the setting's comma-separated values), checked: a timm architecture, not a bundled
    backbone's name, given once, with a file that exists or an hf-hub source. Raises ValueError saying what to fix."""
    sources: dict[str, OperatorSource] = {}
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        name, equals, source = (part.strip() for part in entry.partition("="))
        if not equals or not name or not source:
            raise ValueError(
                f"TAILOR_BACKBONES entry {entry!r} is not name=source: write the timm architecture, '=', and a "
                f"weights file or {HUB_PREFIX}<repo>, e.g. convnext_nano=/models/convnext_nano.safetensors"
            )
        if name not in timm.list_models():
            close = difflib.get_close_matches(name, timm.list_models(), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(
                f"TAILOR_BACKBONES: timm has no architecture {name!r}{hint} (python -c \"import timm; "
                f"print(timm.list_models('*{name.split('_')[0]}*'))\" lists those it has)"
            )
        if name in reserved:
            raise ValueError(f"TAILOR_BACKBONES: {name!r} is a bundled backbone already; leave it out of the setting")
        if name in sources:
            raise ValueError(f"TAILOR_BACKBONES names {name!r} twice")
        if not source.startswith(HUB_PREFIX) and not Path(source).expanduser().is_file():
            raise ValueError(
                f"TAILOR_BACKBONES: the weights file of {name!r}, {source}, does not exist: give the path of a "
                f".safetensors file or a torch state dict, or {HUB_PREFIX}timm/<repo> to download it"
            )
        sources[name] = OperatorSource(name, source if source.startswith(HUB_PREFIX) else str(Path(source).expanduser()))
    return list(sources.values())


def record_path(weights_dir: Path, name: str) -> Path:
    return weights_dir / f"{name}{RECORD_SUFFIX}"


def operator_backbones(weights_dir: Path) -> dict[str, Backbone]:
    """The operator backbones recorded in `weights_dir` (prepare_operator_backbones), by name."""
    found = {}
    for path in sorted(weights_dir.glob(f"*{RECORD_SUFFIX}")) if weights_dir.is_dir() else ():
        try:
            backbone = _read_record(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("operator backbone record %s left out: %s", path, exc)
            continue
        found[backbone.name] = backbone
    return found


def _read_record(path: Path) -> Backbone:
    data = json.loads(path.read_text())
    if data.get("format") != RECORD_FORMAT:
        raise ValueError(f"format {data.get('format')!r}")
    return _backbone_of(data)


def prepare_operator_backbones(weights_dir: Path, sources: list[OperatorSource]) -> dict[str, Path]:
    """name -> converted weights file for every source; a record whose source is unchanged (same file digest) is
    reused, and records of backbones no longer in the setting are removed (so the search no longer uses them)."""
    weights_dir.mkdir(parents=True, exist_ok=True)
    wanted = {source.name for source in sources}
    for stale in weights_dir.glob(f"*{RECORD_SUFFIX}"):
        name = stale.name.removesuffix(RECORD_SUFFIX)
        if name not in wanted:
            stale.unlink(missing_ok=True)
            weights_path(weights_dir, name).unlink(missing_ok=True)
            log.info("operator backbone %s removed: it is no longer in TAILOR_BACKBONES", name)
    return {source.name: _prepare(weights_dir, source) for source in sources}


def _prepare(weights_dir: Path, source: OperatorSource) -> Path:
    path = weights_path(weights_dir, source.name)
    if source.from_hub:
        model = _from_hub(weights_dir, source)
        digest = tensor_digest(model.state_dict())
    else:
        digest = file_sha256(Path(source.source))
        try:
            known: Backbone | None = _read_record(record_path(weights_dir, source.name))
        except (OSError, ValueError, KeyError, TypeError):
            known = None
        if known is not None and known.weights.path == source.source:
            # The converted file records the digest of the file it was made from, as the bundled ones do.
            problem, metadata = check_weights(path, model_layout(known))
            if problem is None and metadata.get("source_sha256") == digest:
                return path
        model = _from_file(source)
    tensors = {name: tensor.detach().cpu().contiguous().clone() for name, tensor in model.state_dict().items()}
    write_weights(path, tensors, source=source.source, source_sha256=digest)
    backbone = _record(model, source)
    _write_record(record_path(weights_dir, source.name), backbone, digest)
    log.info("operator backbone %s: %s converted into %s (%d features, %.2f GFLOPs at %d px)", source.name,
             source.source, path, backbone.feature_dim, backbone.gflops, backbone.input_size)
    return path


def _headless(name: str) -> nn.Module:
    return timm.create_model(name, pretrained=False, num_classes=0)


def _from_file(source: OperatorSource) -> nn.Module:
    """The headless architecture with the file's tensors: every tensor of the network must be there, with its shape
    (a classifier the file carries is left out); anything else is an error that names what differs."""
    file = Path(source.source)
    state = read_weights_file(file)
    model = _headless(source.name)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    wrong = [f"{k} {list(state[k].shape)} (the model's is {list(t.shape)})"
             for k, t in expected.items() if k in state and tuple(state[k].shape) != tuple(t.shape)]
    if missing or wrong:
        problems = ([f"missing {', '.join(missing[:5])}" + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")]
                    if missing else []) + ([f"wrong shape: {'; '.join(wrong[:5])}"] if wrong else [])
        raise BackboneWeightsError(
            f"{file} does not hold the weights of timm's {source.name}: {'; '.join(problems)}. Save the weights of "
            f"that exact architecture (timm.create_model({source.name!r}).state_dict()), or name the architecture "
            "they belong to"
        )
    model.load_state_dict({k: state[k] for k in expected}, strict=True)
    return model.eval()


def read_weights_file(file: Path) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors file, or from a torch file holding a state dict (plain tensors only: nothing else
    is unpickled), unwrapped from a training checkpoint's 'state_dict' or 'model' key."""
    try:
        if file.suffix == ".safetensors":
            return dict(safetensors.torch.load_file(str(file)))
        loaded = torch.load(file, map_location="cpu", weights_only=True)
    except (safetensors.SafetensorError, pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise BackboneWeightsError(
            f"{file} cannot be read as weights ({type(exc).__name__}: {exc}): give a .safetensors file or a torch "
            "state dict saved with torch.save(model.state_dict(), path)"
        ) from exc
    for key in _STATE_KEYS:
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
            break
    if not isinstance(loaded, Mapping) or not all(isinstance(t, torch.Tensor) for t in loaded.values()):
        raise BackboneWeightsError(f"{file} is not a state dict of tensors: save model.state_dict() instead")
    return {str(k).removeprefix("module."): t for k, t in loaded.items()}


def _from_hub(weights_dir: Path, source: OperatorSource) -> nn.Module:
    """Downloaded once through timm into `<weights_dir>/hub` (Hugging Face verifies what it fetches)."""
    try:
        return timm.create_model(source.source, pretrained=True, num_classes=0, cache_dir=weights_dir / "hub").eval()
    except Exception as exc:  # huggingface_hub raises many types for no network, no such repo, no access
        raise BackboneWeightsError(
            f"the weights of {source.name} could not be fetched from {source.source} ({type(exc).__name__}: {exc}): "
            "this machine needs the network and the repo must exist; or download the file elsewhere and give its "
            "path instead"
        ) from exc


def _record(model: nn.Module, source: OperatorSource) -> Backbone:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    input_size = int(cfg.get("input_size", (3, 224, 224))[-1])
    preprocess = Preprocess(
        input_size, float(cfg.get("crop_pct", 0.875)), "bilinear" if cfg.get("interpolation") == "bilinear" else "bicubic",
        tuple(float(v) for v in cfg.get("mean", (0.485, 0.456, 0.406))),  # type: ignore[arg-type]
        tuple(float(v) for v in cfg.get("std", (0.229, 0.224, 0.225))),  # type: ignore[arg-type]
    )
    return Backbone(
        name=source.name, timm_name=source.name, preprocess=preprocess,
        feature_dim=int(model.num_features),  # type: ignore[arg-type]
        gflops=_gflops(model, input_size),
        weights=WeightsSource("", "", source.source, num_classes=0),
    )


def _gflops(model: nn.Module, input_size: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.zeros(1, 3, input_size, input_size))
    return counter.get_total_flops() / 1e9


def _write_record(path: Path, backbone: Backbone, digest: str) -> None:
    data = {"format": RECORD_FORMAT, **asdict(backbone), "source_sha256": digest}
    write_whole(path, json.dumps(data, indent=1))


def _backbone_of(data: dict) -> Backbone:
    p, w = data["preprocess"], data["weights"]
    return Backbone(
        name=data["name"], timm_name=data["timm_name"],
        preprocess=Preprocess(int(p["input_size"]), float(p["crop_pct"]), p["interpolation"], tuple(p["mean"]),
                              tuple(p["std"])),
        feature_dim=int(data["feature_dim"]), gflops=float(data["gflops"]),
        weights=WeightsSource(w["distribution"], w["version"], w["path"], num_classes=int(w["num_classes"])),
    )


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
