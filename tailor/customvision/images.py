"""Images Tailor stores for a project: each upload decoded and checked with the rules analyze uses, stored once
(the same bytes answer OKDuplicate), with a resized copy and a thumbnail, in Tailor's own storage.

A batch is stored in two steps: the files first (under fresh ids, so that nothing existing is touched), then every
record in one transaction. A crash between the two leaves only files no record names, never half a batch.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, cast

from PIL import Image

from ..errors import BlobError, BlobNotFound, BlobTooLarge
from ..predictions.images import ImageLimits, ImageProblem, ImageRejected, decode
from .codes import ErrorCode, ImageCreateStatus, OrderBy, TaggingStatus
from .errors import CustomVisionError
from .projects import ProjectService, checked_id
from .records import ImageQuery, NewImage, Project, StoredImage

if TYPE_CHECKING:
    from ..blobs import Storage
    from ..store import Store

MAX_BATCH = 64  # images in one create_images_* call
MAX_BATCH_TAGS = 20  # tag ids given for a whole batch
MAX_IMAGE_BYTES = 6 * 1024 * 1024  # Custom Vision's training upload limit
MAX_TAGS_PER_IMAGE = 100
MAX_REGIONS_PER_IMAGE = 300
MAX_IMAGES_PER_PROJECT = 100_000
MAX_TAKE = 256
THUMBNAIL_SIDE = 200  # the longer side of a thumbnail
RESIZED_SIDE = 1024  # the longer side of the copy shown when an image is opened
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "GIF": "gif", "BMP": "bmp", "WEBP": "webp", "ICO": "ico",
               "TIFF": "tiff"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp",
                 "webp": "image/webp", "ico": "image/x-icon", "tiff": "image/tiff"}
_STATUS_OF_PROBLEM = {ImageProblem.FORMAT: ImageCreateStatus.ERROR_IMAGE_FORMAT,
                      ImageProblem.SIZE: ImageCreateStatus.ERROR_IMAGE_SIZE,
                      ImageProblem.DIMENSION: ImageCreateStatus.ERROR_IMAGE_DIMENSIONS,
                      ImageProblem.URL: ImageCreateStatus.ERROR_SOURCE}


class ImageFile(str, Enum):
    """Which stored file of an image: the bytes uploaded, the copy resized for viewing, the thumbnail."""

    ORIGINAL = "original"
    RESIZED = "resized"
    THUMBNAIL = "thumbnail"


@dataclass(frozen=True)
class BoxIn:
    """A region as the client sends it: fractions of the image's width and height."""

    tag_id: str
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class ImageIn:
    """One image of a batch: its bytes, or a URL to read them from."""

    data: bytes | None = None
    url: str | None = None
    name: str | None = None
    tag_ids: tuple[str, ...] = ()
    regions: tuple[BoxIn, ...] = ()


@dataclass(frozen=True)
class ImageOut:
    status: ImageCreateStatus
    source_url: str | None
    image: StoredImage | None = None


@dataclass
class _Prepared:
    entry: ImageIn
    status: ImageCreateStatus = ImageCreateStatus.OK
    new: NewImage | None = None
    files: dict[ImageFile, tuple[bytes, str]] = field(default_factory=dict)  # file -> (bytes, content type)
    reason: str | None = None  # why the status is not OK, in words, where known


Staged = _Prepared  # an image read, checked and (when kept) its files stored, before any record names it


def image_key(project_id: str, image_id: str, which: ImageFile, extension: str, folder: str = "images") -> str:
    """Where a file of an image is kept: `folder` "images" for training images, "predictions" for stored
    predictions' images."""
    name = f"original.{extension}" if which is ImageFile.ORIGINAL else f"{which.value}.jpg"
    return f"projects/{project_id}/{folder}/{image_id}/{name}"


@dataclass(frozen=True)
class Picture:
    """An image's bytes checked and decoded, with the files Tailor keeps of it."""

    width: int
    height: int
    extension: str
    digest: str
    files: dict[ImageFile, tuple[bytes, str]]  # file -> (bytes, content type)


def picture(data: bytes, limits: ImageLimits) -> Picture:
    """Checked with analyze's rules (ImageRejected says what is wrong); the resized copy and thumbnail made."""
    decoded = decode(data, limits, keep_side=RESIZED_SIDE)
    with Image.open(io.BytesIO(data)) as opened:
        extension = _EXTENSIONS.get(opened.format or "", "jpg")
    resized = decoded.image.copy()
    resized.thumbnail((RESIZED_SIDE, RESIZED_SIDE))
    thumbnail = decoded.image.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    files = {ImageFile.ORIGINAL: (data, CONTENT_TYPES[extension]),
             ImageFile.RESIZED: (_jpeg(resized), "image/jpeg"),
             ImageFile.THUMBNAIL: (_jpeg(thumbnail), "image/jpeg")}
    return Picture(decoded.width, decoded.height, extension, hashlib.sha256(data).hexdigest(), files)


class ImageService:
    def __init__(self, store: Store, projects: ProjectService, storage: Storage,
                 read_url: Callable[[str, int], bytes]):
        """`read_url(url, max_bytes)` reads a user's image URL through the blob layer (the address guard)."""
        self._records = store.projects
        self._projects = projects
        self._storage = storage
        self._read_url = read_url
        self._limits = ImageLimits(max_bytes=MAX_IMAGE_BYTES)

    # Adding ---------------------------------------------------------------------------------------------------

    def add(self, project_id: str, entries: Sequence[ImageIn], batch_tag_ids: Sequence[str] = (),
            metadata: dict[str, str] | None = None) -> list[ImageOut]:
        project = self._projects.get(project_id)
        if not entries:
            raise CustomVisionError(ErrorCode.IMAGE_BATCH, "the batch has no images: send 1 to 64 images")
        if len(entries) > MAX_BATCH:
            raise CustomVisionError(ErrorCode.EXCEEDED_BATCH_SIZE,
                                    f"the batch has {len(entries)} images; send at most {MAX_BATCH} in one call")
        if len(batch_tag_ids) > MAX_BATCH_TAGS:
            raise CustomVisionError(ErrorCode.EXCEEDED_BATCH_SIZE,
                                    f"{len(batch_tag_ids)} tag ids for the batch; at most {MAX_BATCH_TAGS}")
        tags = self._records.tag_ids_of(project.id)
        unknown = [t for t in batch_tag_ids if _normal(t) not in tags]
        if unknown:
            raise CustomVisionError(ErrorCode.INVALID_IDS, f"tag {unknown[0]!r} is not a tag of this project; "
                                    "get_tags lists its tags")
        _check_regions(entries)
        room = MAX_IMAGES_PER_PROJECT - self._records.count_images(project.id, ImageQuery(take=None))
        with ThreadPoolExecutor(4, thread_name_prefix="tailor-intake") as pool:
            prepared = list(pool.map(lambda e: self._prepare(project, e, batch_tag_ids, tags, metadata), entries))
        for item in prepared:
            if item.status is ImageCreateStatus.OK:
                if room <= 0:
                    item.status = ImageCreateStatus.ERROR_LIMIT_EXCEED
                room -= 1
        self._store_files(project, prepared)
        ready = [item for item in prepared if item.status is ImageCreateStatus.OK and item.new is not None]
        stored = iter(self._records.add_images(project.id, [cast(NewImage, item.new) for item in ready])
                      if ready else [])
        results = []
        for item in prepared:
            if item.status is not ImageCreateStatus.OK:
                results.append(ImageOut(item.status, item.entry.url or item.entry.name))
                continue
            duplicate, image = next(stored)
            if duplicate:
                self._delete_files(project.id, item.new)  # stored by a concurrent upload first: keep one copy
            results.append(ImageOut(ImageCreateStatus.OK_DUPLICATE if duplicate else ImageCreateStatus.OK,
                                    item.entry.url or item.entry.name, image))
        return results

    # Adding all or nothing (an import) ------------------------------------------------------------------------

    def stage(self, project_id: str, urls: Sequence[str], keep: bool) -> list[Staged]:
        """Each URL read through the blob layer and checked as an upload is; with `keep`, the files of each image the
        project does not have yet stored under a fresh id, which no record names until `commit`. Read a batch at a
        time: only a batch's bytes are held at once."""
        project = self._projects.get(project_id)
        staged: list[Staged] = []
        with ThreadPoolExecutor(4, thread_name_prefix="tailor-intake") as pool:
            for start in range(0, len(urls), MAX_BATCH):
                chunk = [ImageIn(url=url) for url in urls[start:start + MAX_BATCH]]
                prepared = list(pool.map(lambda e: self._prepare(project, e, (), {}, None), chunk))
                if keep:
                    self._store_files(project, prepared)
                for item in prepared:
                    item.files = {}
                staged.extend(prepared)
        return staged

    def known(self, project_id: str, staged: Sequence[Staged]) -> set[str]:
        """The digests of `staged` images that the project already has."""
        project = self._projects.get(project_id)
        return self._records.known_digests(project.id, [item.new.digest for item in staged if item.new])

    def commit(self, project_id: str, entries: Sequence[tuple[Staged, tuple[str, ...], tuple[BoxIn, ...]]],
               metadata: dict[str, str] | None = None) -> list[StoredImage]:
        """Staged images (each with its tag ids and regions) recorded in one transaction: all of them or none."""
        project = self._projects.get(project_id)
        images = []
        for item, tag_ids, regions in entries:
            assert item.new is not None and item.status is ImageCreateStatus.OK
            images.append(replace(item.new, metadata=dict(metadata or {}),
                                  tag_ids=tuple(dict.fromkeys(_normal(t) for t in tag_ids)),
                                  regions=tuple((_normal(r.tag_id), r.left, r.top, r.width, r.height)
                                                for r in regions)))
        return [image for _, image in self._records.add_images(project.id, images)] if images else []

    def discard(self, project_id: str, staged: Sequence[Staged]) -> None:
        """The files `stage` stored for images that will not be recorded."""
        for item in staged:
            self._delete_files(project_id, item.new)

    def _prepare(self, project: Project, entry: ImageIn, batch_tags: Sequence[str], tags: dict[str, str],
                 metadata: dict[str, str] | None) -> _Prepared:
        item = _Prepared(entry)
        tag_ids = tuple(dict.fromkeys(_normal(t) for t in (*entry.tag_ids, *batch_tags)))
        if any(t not in tags for t in tag_ids) or any(_normal(r.tag_id) not in tags for r in entry.regions):
            item.status = ImageCreateStatus.ERROR_INVALID_TAG
            return item
        if len(tag_ids) > MAX_TAGS_PER_IMAGE:
            item.status = ImageCreateStatus.ERROR_TAG_LIMIT_EXCEED
            return item
        if len(entry.regions) > MAX_REGIONS_PER_IMAGE:
            item.status = ImageCreateStatus.ERROR_REGION_LIMIT_EXCEED
            return item
        data = entry.data
        if data is None:
            try:
                data = self._read_url(entry.url or "", MAX_IMAGE_BYTES)
            except BlobTooLarge as exc:
                item.status, item.reason = ImageCreateStatus.ERROR_IMAGE_SIZE, exc.reason
                return item
            except BlobError as exc:
                item.status, item.reason = ImageCreateStatus.ERROR_SOURCE, exc.reason
                return item
        try:
            taken = picture(data, self._limits)
        except ImageRejected as rejected:
            item.status, item.reason = _STATUS_OF_PROBLEM[rejected.problem], str(rejected)
            return item
        regions = tuple((_normal(r.tag_id), r.left, r.top, r.width, r.height) for r in entry.regions)
        item.new = NewImage(str(uuid.uuid4()), taken.width, taken.height, taken.digest, taken.extension, len(data),
                            dict(metadata or {}), tag_ids, regions)
        item.files = taken.files
        return item

    def _store_files(self, project: Project, prepared: list[_Prepared]) -> None:
        known = self._records.known_digests(project.id, [item.new.digest for item in prepared if item.new])
        for item in prepared:
            if item.status is not ImageCreateStatus.OK or item.new is None or item.new.digest in known:
                continue  # a duplicate's files are the existing image's
            try:
                for which, (data, content_type) in item.files.items():
                    self._storage.put(image_key(project.id, item.new.id, which, item.new.format), data, content_type)
            except BlobError:
                self._delete_files(project.id, item.new)
                item.status = ImageCreateStatus.ERROR_STORAGE
            item.files = {}

    def _delete_files(self, project_id: str, image: NewImage | StoredImage | None) -> None:
        if image is None:
            return
        try:
            self._storage.delete_prefix(f"projects/{project_id}/images/{image.id}/")
        except BlobError:
            pass  # files no record names are harmless; the project's deletion removes them

    # Reading --------------------------------------------------------------------------------------------------

    def query(self, project_id: str, tagging: TaggingStatus = TaggingStatus.ALL, tag_ids: Sequence[str] = (),
              order: OrderBy = OrderBy.NEWEST, take: int = 50, skip: int = 0,
              image_ids: Sequence[str] = ()) -> list[StoredImage]:
        project = self._projects.get(project_id)
        if not 0 <= take <= MAX_TAKE:
            raise CustomVisionError(ErrorCode.BAD_REQUEST, f"take is {take}; give 0 to {MAX_TAKE}")
        if skip < 0:
            raise CustomVisionError(ErrorCode.BAD_REQUEST, f"skip is {skip}; give 0 or more")
        query = ImageQuery(tagging, tuple(_normal(t) for t in tag_ids), tuple(_normal(i) for i in image_ids), order,
                           skip, take)
        return self._records.query_images(project.id, query)

    def count(self, project_id: str, tagging: TaggingStatus = TaggingStatus.ALL, tag_ids: Sequence[str] = ()) -> int:
        project = self._projects.get(project_id)
        return self._records.count_images(project.id, ImageQuery(tagging, tuple(_normal(t) for t in tag_ids),
                                                                 take=None))

    def by_ids(self, project_id: str, image_ids: Sequence[str]) -> list[StoredImage]:
        project = self._projects.get(project_id)
        return self._records.get_images(project.id, [_normal(i) for i in image_ids])

    def file(self, project_id: str, image_id: str, which: ImageFile) -> tuple[bytes, str]:
        """The bytes of one of an image's files, and their content type."""
        project = self._projects.get(project_id)
        found = self._records.get_images(project.id, [checked_id(image_id, ErrorCode.NOT_FOUND_IMAGE, "image")])
        if not found:
            raise image_not_found(image_id)
        image = found[0]
        try:
            data = self._storage.get(image_key(project.id, image.id, which, image.format))
        except BlobNotFound:
            raise image_not_found(image_id) from None
        return data, CONTENT_TYPES[image.format] if which is ImageFile.ORIGINAL else "image/jpeg"

    # Changing -------------------------------------------------------------------------------------------------

    def delete(self, project_id: str, image_ids: Sequence[str] | None) -> None:
        """The images (every image of the project when None) and their files."""
        project = self._projects.get(project_id)
        ids = None if image_ids is None else [_normal(i) for i in image_ids]
        for image in self._records.delete_images(project.id, ids):
            self._delete_files(project.id, image)

    def tag(self, project_id: str, pairs: Sequence[tuple[str, str]]) -> tuple[list, list, list]:
        """(image id, tag id) pairs: (created, duplicated, exceeded), each a list of pairs."""
        project = self._projects.get(project_id)
        pairs = [(_normal(i), _normal(t)) for i, t in pairs]
        self._check_owned(project, [i for i, _ in pairs], [t for _, t in pairs])
        images = {image.id: image for image in self._records.get_images(project.id, [i for i, _ in pairs])}
        room = {i: MAX_TAGS_PER_IMAGE - len(image.tags) for i, image in images.items()}
        allowed: list[tuple[str, str]] = []
        exceeded: list[tuple[str, str]] = []
        for pair in pairs:
            (allowed if room[pair[0]] > 0 else exceeded).append(pair)
            room[pair[0]] -= 1
        created = self._records.add_image_tags(project.id, allowed)
        return ([p for p, new in zip(allowed, created) if new], [p for p, new in zip(allowed, created) if not new],
                exceeded)

    def untag(self, project_id: str, image_ids: Sequence[str], tag_ids: Sequence[str]) -> None:
        project = self._projects.get(project_id)
        self._records.delete_image_tags(project.id, [_normal(i) for i in image_ids], [_normal(t) for t in tag_ids])

    def add_regions(self, project_id: str, regions: Sequence[tuple[str, BoxIn]]) -> tuple[list, list, list]:
        """(image id, box) entries: (created regions, duplicated entries, exceeded entries)."""
        project = self._projects.get(project_id)
        entries = [(_normal(i), box) for i, box in regions]
        self._check_owned(project, [i for i, _ in entries], [box.tag_id for _, box in entries])
        _check_boxes([box for _, box in entries], "regions")
        counts = self._records.region_counts([i for i, _ in entries])
        allowed: list[tuple[str, BoxIn]] = []
        exceeded: list[tuple[str, BoxIn]] = []
        for entry in entries:
            used = counts.get(entry[0], 0)
            (allowed if used < MAX_REGIONS_PER_IMAGE else exceeded).append(entry)
            counts[entry[0]] = used + 1
        made = self._records.add_regions(project.id, [(i, _normal(b.tag_id), b.left, b.top, b.width, b.height)
                                                      for i, b in allowed])
        created = [(entry[0], region) for entry, region in zip(allowed, made) if region is not None]
        duplicated = [entry for entry, region in zip(allowed, made) if region is None]
        return created, duplicated, exceeded

    def delete_regions(self, project_id: str, region_ids: Sequence[str]) -> None:
        project = self._projects.get(project_id)
        self._records.delete_regions(project.id, [_normal(r) for r in region_ids])

    def _check_owned(self, project: Project, image_ids: Sequence[str], tag_ids: Sequence[str]) -> None:
        found = {image.id for image in self._records.get_images(project.id, list(dict.fromkeys(image_ids)))}
        missing = [i for i in image_ids if i not in found]
        if missing:
            raise image_not_found(missing[0])
        tags = self._records.tag_ids_of(project.id)
        unknown = [t for t in tag_ids if _normal(t) not in tags]
        if unknown:
            raise CustomVisionError(ErrorCode.NOT_FOUND_TAG, f"there is no tag with id {unknown[0]!r} in this "
                                    "project; get_tags lists its tags")


def image_not_found(image_id: str) -> CustomVisionError:
    return CustomVisionError(ErrorCode.NOT_FOUND_IMAGE, f"there is no image with id {image_id!r} in this project; "
                             "get_images lists its images")


def _normal(ident: str) -> str:
    """Ids compare as the lowercase uuids the store keeps; what is not a uuid stays as given (and matches nothing)."""
    try:
        return str(uuid.UUID(str(ident)))
    except ValueError:
        return str(ident)


def _check_regions(entries: Sequence[ImageIn]) -> None:
    for k, entry in enumerate(entries):
        _check_boxes(entry.regions, f"images[{k}].regions")


def _check_boxes(boxes: Sequence[BoxIn], where: str) -> None:
    """Regions are fractions of the image: inside it, and not empty. A bad one refuses the whole call."""
    for j, box in enumerate(boxes):
        values = (box.left, box.top, box.width, box.height)
        inside = all(v is not None and 0 <= v <= 1 for v in values)
        if not inside or box.width <= 0 or box.height <= 0 or box.left + box.width > 1.0001 \
                or box.top + box.height > 1.0001:
            raise CustomVisionError(
                ErrorCode.IMAGE_REGIONS,
                f"{where}[{j}] is left {box.left}, top {box.top}, width {box.width}, height {box.height}: a region is "
                "given in fractions of the image's width and height (0 to 1), with a width and height above 0, "
                "inside the image",
            )


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()
