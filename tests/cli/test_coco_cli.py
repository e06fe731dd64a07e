"""`tailor coco validate` and `import-folder`, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tailor.cli import app

from ..coco.builders import classification, detection

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def tailor(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def write(path: Path, doc) -> str:
    path.write_text(json.dumps(doc) if not isinstance(doc, (bytes, str)) else doc if isinstance(doc, str) else doc.decode())
    return str(path)


def test_bundled_samples_are_valid_with_their_images() -> None:
    result = tailor("coco", "validate", str(REPO / "samples/fruit/train.json"), "--kind", "classification", "--check-images")
    assert result.exit_code == 0, result.output
    assert "24 images" in result.output and "✓ valid for training" in result.output
    result = tailor(
        "coco", "validate", str(REPO / "samples/shapes/train.json"), "-k", "detection", "-p", "evaluation", "--check-images"
    )
    assert result.exit_code == 0, result.output


def test_invalid_file_exits_1_with_problems_grouped_by_code(tmp_path: Path) -> None:
    doc = classification(2, 20)
    for k in range(15):
        doc["images"][k]["width"] = "wide"
    doc["annotations"][30]["category_id"] = 9
    result = tailor("coco", "validate", write(tmp_path / "bad.json", doc), "--kind", "classification")
    assert result.exit_code == 1
    out = result.output
    assert "error wrongType (15)" in out
    assert "images[0].width: the width in pixels must be an integer" in out
    assert "... and 5 more (--json lists every one)" in out
    assert "error unknownCategory (1)" in out and "annotations[30].category_id" in out
    assert "✗ invalid for training: 16 errors" in out


def test_json_output_is_one_object_with_every_problem(tmp_path: Path) -> None:
    doc = classification(2, 20)
    for k in range(15):
        doc["images"][k]["width"] = "wide"
    result = tailor("coco", "validate", write(tmp_path / "bad.json", doc), "--kind", "classification", "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert set(out) >= {"valid", "kind", "multilabel", "stats", "errors", "warnings"}
    assert out["valid"] is False and out["kind"] == "classification" and out["multilabel"] is False
    assert len(out["errors"]) == 15
    assert {e["code"] for e in out["errors"]} == {"wrongType"}
    assert out["errors"][0]["path"] == "images[0].width"


def test_not_json_at_all_exits_1_with_line_and_column(tmp_path: Path) -> None:
    target = tmp_path / "notes.json"
    target.write_text("line one\nline two\n")
    result = tailor("coco", "validate", str(target), "--kind", "detection")
    assert result.exit_code == 1
    assert "invalidJson" in result.output and "line 1, column 1" in result.output


def test_binary_garbage_exits_1(tmp_path: Path) -> None:
    target = tmp_path / "random.json"
    target.write_bytes(bytes(range(256)) * 50)
    result = tailor("coco", "validate", str(target), "--kind", "detection", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["code"] in {"invalidJson", "invalidEncoding"}


def test_missing_file_is_an_io_error_exit_2(tmp_path: Path) -> None:
    result = tailor("coco", "validate", str(tmp_path / "absent.json"), "--kind", "classification")
    assert result.exit_code == 2
    assert "cannot read" in result.output and "no such file" in result.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", classification())
    assert tailor("coco", "validate", path).exit_code == 2  # --kind is required
    assert tailor("coco", "validate", path, "--kind", "segmentation").exit_code == 2
    assert tailor("coco", "validate", path, "--kind", "detection", "--purpose", "fun").exit_code == 2


def test_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(3 * 1024 * 1024)  # sparse: 3 MB of zeros, never parsed
    result = tailor("coco", "validate", str(big), "--kind", "classification", "--max-file-mb", "2", "--json")
    assert result.exit_code == 1
    (error,) = json.loads(result.stdout)["errors"]
    assert error["code"] == "fileTooLarge" and "3.0 MB" in error["message"] and "--max-file-mb" in error["message"]


def test_several_files_are_merged(tmp_path: Path) -> None:
    a = classification(2, 1)
    b = classification(2, 1)
    for image in b["images"]:
        image["absolute_url"] += "?second"
    paths = [write(tmp_path / "a.json", a), write(tmp_path / "b.json", b)]
    result = tailor("coco", "validate", *paths, paths[0], "--kind", "classification", "--json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["stats"]["imagesPerCategory"] == {"class_1": 2, "class_2": 2}


def test_check_images_over_http_with_relative_references(http_folder) -> None:
    base, root = http_folder
    doc = detection(3, side=100)
    for k, image in enumerate(doc["images"]):
        image.pop("coco_url")
        image["absolute_url"] = f"pics/{k}.png"
    (root / "pics").mkdir()
    Image.new("RGB", (100, 100)).save(root / "pics/0.png")
    Image.new("RGB", (100, 80)).save(root / "pics/1.png")  # not the declared size
    (root / "pics/2.png").write_bytes(b"not a png")
    (root / "train.json").write_text(json.dumps(doc))
    result = tailor("coco", "validate", base + "train.json", "--kind", "detection", "--check-images", "--json")
    assert result.exit_code == 1
    found = {(e["code"], e["path"]) for e in json.loads(result.stdout)["errors"]}
    assert found == {("imageSizeMismatch", "images[1].width"), ("imageUndecodable", "images[2]")}


def test_import_folder_then_validate(tmp_path: Path) -> None:
    for label in ("cat", "dog"):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for k in range(2):
            Image.new("RGB", (60, 60), label == "cat" and "red" or "blue").save(tmp_path / "photos" / label / f"{k}.jpg")
    out = tmp_path / "train.json"
    result = tailor("coco", "import-folder", str(tmp_path / "photos"), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "4 images in 2 labels" in result.output
    result = tailor("coco", "validate", str(out), "--kind", "classification", "--check-images")
    assert result.exit_code == 0, result.output


def test_import_of_an_empty_folder_says_what_to_do(tmp_path: Path) -> None:
    result = tailor("coco", "import-folder", str(tmp_path), "-o", str(tmp_path / "out.json"))
    assert result.exit_code == 1
    assert "its own folder" in result.output


@pytest.mark.slow
def test_the_installed_console_script_keeps_the_exit_codes(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("tailor")  # installed by `pip install -e .` beside this Python
    good = write(tmp_path / "good.json", classification())
    bad = write(tmp_path / "bad.json", "{")
    run = lambda *a: subprocess.run([script, "coco", "validate", *a], capture_output=True, text=True)
    assert run(good, "--kind", "classification").returncode == 0
    assert run(bad, "--kind", "classification").returncode == 1
    assert run(str(tmp_path / "none.json"), "--kind", "classification").returncode == 2
    module = subprocess.run([sys.executable, "-m", "tailor", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and "coco" in module.stdout
