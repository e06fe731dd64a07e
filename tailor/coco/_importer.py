"""Importers: other dataset layouts to COCO. A folder per label (`root/apple/*.jpg`) is a classification set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ._images import open_image
from ._reference import CocoAnnotation, CocoCategory, CocoFile, CocoImage


@dataclass(frozen=True)
class FolderImport:
    coco: CocoFile
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # files that are not images, and why


def import_folder(root: Path, base_url: str | None = None) -> FolderImport:
    """Each sub-folder of `root` is a label; every image below it (any depth) is an image of that label.

    `absolute_url` is `base_url` + the image's path under `root` when `base_url` is given (where the same tree was
    uploaded, e.g. a blob container), else the image's `file://` URI. Sizes are read from the image headers.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder")
    prefix = base_url.rstrip("/") + "/" if base_url else None
    labels = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    images: list[CocoImage] = []
    annotations: list[CocoAnnotation] = []
    skipped: list[tuple[Path, str]] = []
    for category_id, label in enumerate(labels, start=1):
        for path in sorted(p for p in label.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            try:
                with open_image(path) as image:
                    width, height = image.size
            except Exception as exc:  # not an image, or a format we don't take: say which and go on
                skipped.append((path, f"not an accepted image ({type(exc).__name__})"))
                continue
            relative = path.relative_to(root).as_posix()
            image_id = len(images) + 1
            images.append(
                CocoImage(
                    id=image_id, width=width, height=height, file_name=relative,
                    absolute_url=prefix + quote(relative) if prefix else path.resolve().as_uri(),
                )
            )
            annotations.append(CocoAnnotation(id=image_id, image_id=image_id, category_id=category_id))
    categories = [CocoCategory(id=i, name=label.name) for i, label in enumerate(labels, start=1)]
    return FolderImport(CocoFile(images=images, annotations=annotations, categories=categories), skipped)
