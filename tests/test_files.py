"""tailor/files.py: a target is replaced whole or left as it was, and no staging file or folder stays behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.files import staged_file, staged_folder, write_whole


def test_a_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "model.onnx"
    write_whole(target, b"first")
    assert target.read_bytes() == b"first"
    write_whole(target, "second, as text")
    assert target.read_text() == "second, as text"
    assert [p.name for p in target.parent.iterdir()] == ["model.onnx"]
    assert target.stat().st_mode & 0o777 == 0o600  # private, as the staging file was made


def test_a_failed_write_leaves_the_old_file_and_no_litter(tmp_path: Path) -> None:
    target = tmp_path / "choices.json"
    write_whole(target, "{}")
    with pytest.raises(RuntimeError, match="disk full"), staged_file(target) as staging:
        staging.write_text('{"half": ')
        raise RuntimeError("disk full")
    assert target.read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == ["choices.json"]


def test_a_folder_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "models" / "attempt-1"
    with pytest.raises(OSError), staged_folder(target) as staging:
        (staging / "weights.safetensors").write_bytes(b"w" * 10)
        raise OSError("killed halfway")
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []
    with staged_folder(target) as staging:
        (staging / "weights.safetensors").write_bytes(b"w" * 10)
        (staging / "config.json").write_text("{}")
        assert not target.exists()  # nothing under the name until the block ends
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "weights.safetensors"]
    assert [p.name for p in target.parent.iterdir()] == ["attempt-1"]
