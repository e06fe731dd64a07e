"""Custom Vision records: projects, tags, images with their tags and regions, iterations. Every change that alters
what a training would see moves the project's `data_changed_at`, which tells whether a new training is needed."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..customvision.codes import ClassificationType, OrderBy, TaggingStatus, TagType, TrainingType
from ..customvision.records import (
    ImageQuery,
    ImageTag,
    Iteration,
    NewImage,
    Project,
    Region,
    StoredImage,
    StoredPrediction,
    Tag,
)
from ..errors import AlreadyExists, NotFound
from ._database import Database, utc
from ._tables import ImageRow, ImageTagRow, IterationRow, PredictionRow, ProjectRow, RegionRow, TagRow


class ProjectRecords:
    def __init__(self, db: Database):
        self._db = db

    # Projects -------------------------------------------------------------------------------------------------

    def insert_project(self, project: Project) -> Project:
        with self._db.session() as session:
            session.add(ProjectRow(
                id=project.id, name=project.name, description=project.description, domain_id=project.domain_id,
                classification_type=project.classification_type.value if project.classification_type else None,
                target_export_platforms=list(project.target_export_platforms), created_at=project.created,
                updated_at=project.last_modified, data_changed_at=project.data_changed,
            ))
        return project

    def get_project(self, project_id: str) -> Project:
        with self._db.session() as session:
            return self._project(_get(session, ProjectRow, project_id, "project"))

    def list_projects(self) -> list[Project]:
        with self._db.session() as session:
            rows = session.scalars(select(ProjectRow).order_by(ProjectRow.created_at, ProjectRow.id))
            return [self._project(row) for row in rows]

    def update_project(self, project_id: str, **changes: Any) -> Project:
        """Columns of the project (name, description, domain_id, classification_type, target_export_platforms)."""
        values = {k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()}
        with self._db.session() as session:
            row = _get(session, ProjectRow, project_id, "project")
            for key, value in values.items():
                setattr(row, key, list(value) if key == "target_export_platforms" else value)
            row.updated_at = self._db.now()
            return self._project(row)

    def delete_project(self, project_id: str) -> None:
        """The project and all it owns (tags, images, regions, iterations), in one transaction."""
        with self._db.session() as session:
            _get(session, ProjectRow, project_id, "project")
            images = select(ImageRow.id).where(ImageRow.project_id == project_id)
            # Deleted child first, explicitly: SQLite enforces ON DELETE CASCADE only with its pragma on.
            session.execute(delete(RegionRow).where(RegionRow.image_id.in_(images)))
            session.execute(delete(ImageTagRow).where(ImageTagRow.image_id.in_(images)))
            session.execute(delete(ImageRow).where(ImageRow.project_id == project_id))
            session.execute(delete(TagRow).where(TagRow.project_id == project_id))
            session.execute(delete(IterationRow).where(IterationRow.project_id == project_id))
            session.execute(delete(PredictionRow).where(PredictionRow.project_id == project_id))
            session.execute(delete(ProjectRow).where(ProjectRow.id == project_id))

    def _touch(self, session: Session, project_id: str) -> None:
        session.execute(update(ProjectRow).where(ProjectRow.id == project_id).values(data_changed_at=self._db.now()))

    # Tags -----------------------------------------------------------------------------------------------------

    def insert_tag(self, project_id: str, tag: Tag) -> Tag:
        try:
            with self._db.session() as session:
                _get(session, ProjectRow, project_id, "project")
                session.add(TagRow(id=tag.id, project_id=project_id, name=tag.name, name_key=tag.name.casefold(),
                                   description=tag.description, type=tag.type.value, created_at=self._db.now()))
                self._touch(session, project_id)
        except IntegrityError:
            raise AlreadyExists("tag", tag.name) from None
        return tag

    def list_tags(self, project_id: str) -> list[Tag]:
        with self._db.session() as session:
            _get(session, ProjectRow, project_id, "project")
            rows = session.scalars(select(TagRow).where(TagRow.project_id == project_id)
                                   .order_by(TagRow.created_at, TagRow.id)).all()
            counts = self._image_counts(session, [row.id for row in rows])
            return [_tag(row, counts.get(row.id, 0)) for row in rows]

    def get_tag(self, project_id: str, tag_id: str) -> Tag:
        with self._db.session() as session:
            row = session.scalar(select(TagRow).where(TagRow.id == tag_id, TagRow.project_id == project_id))
            if row is None:
                raise NotFound("tag", tag_id)
            return _tag(row, self._image_counts(session, [tag_id]).get(tag_id, 0))

    def update_tag(self, project_id: str, tag_id: str, **changes: Any) -> Tag:
        try:
            with self._db.session() as session:
                row = session.scalar(select(TagRow).where(TagRow.id == tag_id, TagRow.project_id == project_id))
                if row is None:
                    raise NotFound("tag", tag_id)
                for key, value in changes.items():
                    setattr(row, key, value.value if hasattr(value, "value") else value)
                row.name_key = row.name.casefold()
                self._touch(session, project_id)
                session.flush()
                return _tag(row, self._image_counts(session, [tag_id]).get(tag_id, 0))
        except IntegrityError:
            raise AlreadyExists("tag", str(changes.get("name"))) from None

    def delete_tag(self, project_id: str, tag_id: str) -> None:
        with self._db.session() as session:
            if session.scalar(select(TagRow.id).where(TagRow.id == tag_id, TagRow.project_id == project_id)) is None:
                raise NotFound("tag", tag_id)
            session.execute(delete(ImageTagRow).where(ImageTagRow.tag_id == tag_id))
            session.execute(delete(RegionRow).where(RegionRow.tag_id == tag_id))
            session.execute(delete(TagRow).where(TagRow.id == tag_id))
            self._touch(session, project_id)

    def tag_ids_of(self, project_id: str) -> dict[str, str]:
        """{tag id: name} of the project's tags."""
        with self._db.session() as session:
            rows = session.execute(select(TagRow.id, TagRow.name).where(TagRow.project_id == project_id))
            return {tag_id: name for tag_id, name in rows}

    @staticmethod
    def _image_counts(session: Session, tag_ids: Sequence[str]) -> dict[str, int]:
        if not tag_ids:
            return {}
        tagged = session.execute(select(ImageTagRow.tag_id, func.count()).where(ImageTagRow.tag_id.in_(tag_ids))
                                 .group_by(ImageTagRow.tag_id)).all()
        boxed = session.execute(select(RegionRow.tag_id, func.count(func.distinct(RegionRow.image_id)))
                                .where(RegionRow.tag_id.in_(tag_ids)).group_by(RegionRow.tag_id)).all()
        counts: dict[str, int] = defaultdict(int)
        for tag_id, count in (*tagged, *boxed):
            counts[tag_id] += count
        return counts

    # Images ---------------------------------------------------------------------------------------------------

    def add_images(self, project_id: str, images: Sequence[NewImage]) -> list[tuple[bool, StoredImage]]:
        """Stores every image of a batch in one transaction, so that a crash stores none of them. An image whose
        bytes the project already has is not stored again: its tags and regions go to the existing image, and its
        entry says so (True: a duplicate)."""
        now = self._db.now()
        added: list[tuple[bool, str]] = []
        with self._db.session() as session:
            _get(session, ProjectRow, project_id, "project")
            rows = session.execute(select(ImageRow.digest, ImageRow.id).where(
                ImageRow.project_id == project_id, ImageRow.digest.in_([i.digest for i in images])))
            known = {digest: image_id for digest, image_id in rows}
            for image in images:
                existing = known.get(image.digest)
                if existing is None:
                    session.add(ImageRow(
                        id=image.id, project_id=project_id, created_at=now, width=image.width, height=image.height,
                        digest=image.digest, format=image.format, size_bytes=image.size_bytes,
                        image_metadata=dict(image.metadata),
                    ))
                    known[image.digest] = image.id
                    session.flush()
                target = existing or image.id
                self._add_tags(session, [(target, tag_id) for tag_id in image.tag_ids], now)
                self._add_regions(session, [(target, *region) for region in image.regions], now)
                added.append((existing is not None, target))
            self._touch(session, project_id)
        found = {image.id: image for image in self.get_images(project_id, [target for _, target in added])}
        return [(duplicate, found[target]) for duplicate, target in added]

    def known_digests(self, project_id: str, digests: Sequence[str]) -> set[str]:
        """Which of `digests` the project's images already have."""
        if not digests:
            return set()
        with self._db.session() as session:
            return set(session.scalars(select(ImageRow.digest).where(ImageRow.project_id == project_id,
                                                                     ImageRow.digest.in_(list(digests)))))

    def get_images(self, project_id: str, image_ids: Sequence[str]) -> list[StoredImage]:
        """The images of `image_ids` that the project has, in the order asked."""
        with self._db.session() as session:
            rows = session.scalars(select(ImageRow).where(ImageRow.project_id == project_id,
                                                          ImageRow.id.in_(list(image_ids)))).all()
            by_id = {image.id: image for image in self._images(session, rows)}
        return [by_id[i] for i in image_ids if i in by_id]

    def query_images(self, project_id: str, query: ImageQuery) -> list[StoredImage]:
        with self._db.session() as session:
            _get(session, ProjectRow, project_id, "project")
            statement = self._filtered(select(ImageRow), project_id, query)
            ordering = ImageRow.created_at.desc() if query.order is OrderBy.NEWEST else ImageRow.created_at
            statement = statement.order_by(ordering, ImageRow.id).offset(query.skip)
            if query.take is not None:
                statement = statement.limit(query.take)
            return self._images(session, session.scalars(statement).all())

    def count_images(self, project_id: str, query: ImageQuery) -> int:
        with self._db.session() as session:
            _get(session, ProjectRow, project_id, "project")
            statement = self._filtered(select(func.count()).select_from(ImageRow), project_id, query)
            return int(session.scalar(statement) or 0)

    @staticmethod
    def _filtered(statement, project_id: str, query: ImageQuery):
        statement = statement.where(ImageRow.project_id == project_id)
        tagged_ids = select(ImageTagRow.image_id).union(select(RegionRow.image_id))
        if query.tagging is TaggingStatus.TAGGED:
            statement = statement.where(ImageRow.id.in_(tagged_ids))
        elif query.tagging is TaggingStatus.UNTAGGED:
            statement = statement.where(ImageRow.id.not_in(tagged_ids))
        if query.tag_ids:
            with_tags = select(ImageTagRow.image_id).where(ImageTagRow.tag_id.in_(query.tag_ids)).union(
                select(RegionRow.image_id).where(RegionRow.tag_id.in_(query.tag_ids)))
            statement = statement.where(ImageRow.id.in_(with_tags))
        if query.image_ids:
            statement = statement.where(ImageRow.id.in_(query.image_ids))
        return statement

    def delete_images(self, project_id: str, image_ids: Sequence[str] | None) -> list[StoredImage]:
        """Deletes the images (all of the project's when None) and returns what was deleted, for its files."""
        with self._db.session() as session:
            _get(session, ProjectRow, project_id, "project")
            statement = select(ImageRow).where(ImageRow.project_id == project_id)
            if image_ids is not None:
                statement = statement.where(ImageRow.id.in_(list(image_ids)))
            gone = self._images(session, session.scalars(statement).all())
            ids = [image.id for image in gone]
            if ids:
                session.execute(delete(RegionRow).where(RegionRow.image_id.in_(ids)))
                session.execute(delete(ImageTagRow).where(ImageTagRow.image_id.in_(ids)))
                session.execute(delete(ImageRow).where(ImageRow.id.in_(ids)))
                self._touch(session, project_id)
            return gone

    def add_image_tags(self, project_id: str, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """(image id, tag id) pairs, already checked to belong to the project; per pair, whether it was new."""
        now = self._db.now()
        with self._db.session() as session:
            created = self._add_tags(session, pairs, now)
            if any(created):
                self._touch(session, project_id)
            return created

    def delete_image_tags(self, project_id: str, image_ids: Sequence[str], tag_ids: Sequence[str]) -> None:
        with self._db.session() as session:
            owned = select(ImageRow.id).where(ImageRow.project_id == project_id, ImageRow.id.in_(list(image_ids)))
            session.execute(delete(ImageTagRow).where(ImageTagRow.image_id.in_(owned),
                                                      ImageTagRow.tag_id.in_(list(tag_ids))))
            self._touch(session, project_id)

    def add_regions(self, project_id: str, regions: Sequence[tuple[str, str, float, float, float, float]]) -> list[
            Region | None]:
        """(image id, tag id, left, top, width, height); per entry, the new region, or None for a duplicate."""
        now = self._db.now()
        with self._db.session() as session:
            ids = self._add_regions(session, regions, now)
            self._touch(session, project_id)
            rows = {row.id: row for row in session.scalars(select(RegionRow).where(
                RegionRow.id.in_([i for i in ids if i])))}
            names = self._tag_names(session, [row.tag_id for row in rows.values()])
            return [_region(rows[i], names) if i else None for i in ids]

    def delete_regions(self, project_id: str, region_ids: Sequence[str]) -> int:
        with self._db.session() as session:
            owned = select(ImageRow.id).where(ImageRow.project_id == project_id)
            # A DELETE's result is a CursorResult, with a rowcount, which Session.execute's type omits.
            done = cast(CursorResult, session.execute(
                delete(RegionRow).where(RegionRow.id.in_(list(region_ids)), RegionRow.image_id.in_(owned))
            ))
            self._touch(session, project_id)
            return done.rowcount

    def region_counts(self, image_ids: Sequence[str]) -> dict[str, int]:
        with self._db.session() as session:
            rows = session.execute(select(RegionRow.image_id, func.count()).where(
                RegionRow.image_id.in_(list(image_ids))).group_by(RegionRow.image_id))
            return {image_id: count for image_id, count in rows}

    def _add_tags(self, session: Session, pairs: Iterable[tuple[str, str]], now: datetime) -> list[bool]:
        pairs = list(pairs)
        if not pairs:
            return []
        rows = session.execute(select(ImageTagRow.image_id, ImageTagRow.tag_id)
                               .where(ImageTagRow.image_id.in_([i for i, _ in pairs])))
        existing = {(image, tag) for image, tag in rows}
        created = []
        for pair in pairs:
            new = pair not in existing
            if new:
                session.add(ImageTagRow(image_id=pair[0], tag_id=pair[1], created_at=now))
                existing.add(pair)
            created.append(new)
        session.flush()
        return created

    def _add_regions(self, session: Session, regions: Iterable[tuple], now: datetime) -> list[str | None]:
        regions = list(regions)
        if not regions:
            return []
        existing = {
            (r.image_id, r.tag_id, round(r.left, 6), round(r.top, 6), round(r.width, 6), round(r.height, 6))
            for r in session.scalars(select(RegionRow).where(RegionRow.image_id.in_([r[0] for r in regions])))
        }
        ids: list[str | None] = []
        for image_id, tag_id, left, top, width, height in regions:
            key = (image_id, tag_id, round(left, 6), round(top, 6), round(width, 6), round(height, 6))
            if key in existing:
                ids.append(None)
                continue
            existing.add(key)
            region_id = str(uuid.uuid4())
            session.add(RegionRow(id=region_id, image_id=image_id, tag_id=tag_id, left=left, top=top, width=width,
                                  height=height, created_at=now))
            ids.append(region_id)
        session.flush()
        return ids

    @staticmethod
    def _tag_names(session: Session, tag_ids: Iterable[str]) -> dict[str, str]:
        ids = list(set(tag_ids))
        if not ids:
            return {}
        rows = session.execute(select(TagRow.id, TagRow.name).where(TagRow.id.in_(ids)))
        return {tag_id: name for tag_id, name in rows}

    def _images(self, session: Session, rows: Sequence[ImageRow]) -> list[StoredImage]:
        ids = [row.id for row in rows]
        tags: dict[str, list[ImageTagRow]] = defaultdict(list)
        regions: dict[str, list[RegionRow]] = defaultdict(list)
        if ids:
            for tag in session.scalars(select(ImageTagRow).where(ImageTagRow.image_id.in_(ids))
                                       .order_by(ImageTagRow.created_at)):
                tags[tag.image_id].append(tag)
            for region in session.scalars(select(RegionRow).where(RegionRow.image_id.in_(ids))
                                          .order_by(RegionRow.created_at, RegionRow.id)):
                regions[region.image_id].append(region)
        names = self._tag_names(session, [t.tag_id for ts in tags.values() for t in ts]
                                + [r.tag_id for rs in regions.values() for r in rs])
        return [
            StoredImage(
                id=row.id, project_id=row.project_id, created=utc(row.created_at), width=row.width, height=row.height,
                digest=row.digest, format=row.format, size_bytes=row.size_bytes, metadata=dict(row.image_metadata),
                tags=tuple(ImageTag(t.tag_id, names.get(t.tag_id, ""), utc(t.created_at)) for t in tags[row.id]),
                regions=tuple(_region(r, names) for r in regions[row.id]),
            )
            for row in rows
        ]

    # Iterations -----------------------------------------------------------------------------------------------

    def insert_iteration(self, iteration: Iteration) -> Iteration:
        with self._db.session() as session:
            session.add(IterationRow(
                id=iteration.id, project_id=iteration.project_id, name=iteration.name, created_at=iteration.created,
                updated_at=iteration.last_modified, model_name=iteration.model_name,
                training_type=iteration.training_type.value, reserved_budget_hours=iteration.reserved_budget_hours,
                domain_id=iteration.domain_id,
                classification_type=iteration.classification_type.value if iteration.classification_type else None,
                tags=[list(pair) for pair in iteration.tags],
            ))
        return iteration

    def count_iterations(self, project_id: str) -> int:
        with self._db.session() as session:
            return int(session.scalar(select(func.count()).select_from(IterationRow)
                                      .where(IterationRow.project_id == project_id)) or 0)

    def list_iterations(self, project_id: str) -> list[Iteration]:
        with self._db.session() as session:
            _get(session, ProjectRow, project_id, "project")
            rows = session.scalars(select(IterationRow).where(IterationRow.project_id == project_id)
                                   .order_by(IterationRow.created_at, IterationRow.id))
            return [self._iteration(row) for row in rows]

    def get_iteration(self, project_id: str, iteration_id: str) -> Iteration:
        with self._db.session() as session:
            row = session.scalar(select(IterationRow).where(IterationRow.id == iteration_id,
                                                            IterationRow.project_id == project_id))
            if row is None:
                raise NotFound("iteration", iteration_id)
            return self._iteration(row)

    def published_iteration(self, project_id: str, publish_name: str) -> Iteration:
        with self._db.session() as session:
            row = session.scalar(select(IterationRow).where(IterationRow.project_id == project_id,
                                                            IterationRow.publish_name == publish_name))
            if row is None:
                raise NotFound("published iteration", publish_name)
            return self._iteration(row)

    def update_iteration(self, project_id: str, iteration_id: str, **changes: Any) -> Iteration:
        """name, publish_name, prediction_resource_id, published_at. A publish name another iteration of the
        project holds is AlreadyExists."""
        try:
            with self._db.session() as session:
                row = session.scalar(select(IterationRow).where(IterationRow.id == iteration_id,
                                                                IterationRow.project_id == project_id))
                if row is None:
                    raise NotFound("iteration", iteration_id)
                for key, value in changes.items():
                    setattr(row, key, value)
                row.updated_at = self._db.now()
                session.flush()
                return self._iteration(row)
        except IntegrityError:
            raise AlreadyExists("published iteration", str(changes.get("publish_name"))) from None

    def delete_iteration(self, project_id: str, iteration_id: str) -> None:
        with self._db.session() as session:
            done = cast(CursorResult, session.execute(  # a CursorResult, as in delete_regions
                delete(IterationRow).where(IterationRow.id == iteration_id, IterationRow.project_id == project_id)
            ))
            if done.rowcount == 0:
                raise NotFound("iteration", iteration_id)

    def iteration_of_model(self, model_name: str) -> Iteration | None:
        with self._db.session() as session:
            row = session.scalar(select(IterationRow).where(IterationRow.model_name == model_name))
            return self._iteration(row) if row is not None else None

    # Stored predictions ---------------------------------------------------------------------------------------

    def insert_prediction(self, prediction: StoredPrediction) -> StoredPrediction:
        with self._db.session() as session:
            session.add(PredictionRow(
                id=prediction.id, project_id=prediction.project_id, iteration_id=prediction.iteration_id,
                created_at=prediction.created, width=prediction.width, height=prediction.height,
                format=prediction.format, application=prediction.application,
                predictions=[[p, tag_id, name, list(box) if box else None]
                             for p, tag_id, name, box in prediction.predictions],
            ))
        return prediction

    def query_predictions(self, project_id: str, iteration_id: str | None, since: datetime | None,
                          until: datetime | None, application: str | None, newest_first: bool) -> list[
            StoredPrediction]:
        with self._db.session() as session:
            _get(session, ProjectRow, project_id, "project")
            statement = select(PredictionRow).where(PredictionRow.project_id == project_id)
            if iteration_id:
                statement = statement.where(PredictionRow.iteration_id == iteration_id)
            if since is not None:
                statement = statement.where(PredictionRow.created_at >= since)
            if until is not None:
                statement = statement.where(PredictionRow.created_at <= until)
            if application:
                statement = statement.where(PredictionRow.application == application)
            order = PredictionRow.created_at.desc() if newest_first else PredictionRow.created_at
            return [_prediction(row) for row in session.scalars(statement.order_by(order, PredictionRow.id))]

    def get_predictions(self, project_id: str, prediction_ids: Sequence[str]) -> list[StoredPrediction]:
        with self._db.session() as session:
            rows = session.scalars(select(PredictionRow).where(PredictionRow.project_id == project_id,
                                                               PredictionRow.id.in_(list(prediction_ids))))
            by_id = {row.id: _prediction(row) for row in rows}
        return [by_id[i] for i in prediction_ids if i in by_id]

    def delete_predictions(self, project_id: str, prediction_ids: Sequence[str]) -> list[StoredPrediction]:
        gone = self.get_predictions(project_id, prediction_ids)
        with self._db.session() as session:
            session.execute(delete(PredictionRow).where(PredictionRow.project_id == project_id,
                                                        PredictionRow.id.in_([p.id for p in gone])))
        return gone

    # Rows to records ------------------------------------------------------------------------------------------

    def _project(self, row: ProjectRow) -> Project:
        return Project(
            id=row.id, name=row.name, description=row.description, domain_id=row.domain_id,
            classification_type=ClassificationType(row.classification_type) if row.classification_type else None,
            target_export_platforms=tuple(row.target_export_platforms or ()), created=utc(row.created_at),
            last_modified=utc(row.updated_at), data_changed=utc(row.data_changed_at),
        )

    def _iteration(self, row: IterationRow) -> Iteration:
        return Iteration(
            id=row.id, project_id=row.project_id, name=row.name, created=utc(row.created_at),
            last_modified=utc(row.updated_at), model_name=row.model_name,
            training_type=TrainingType(row.training_type), reserved_budget_hours=row.reserved_budget_hours,
            domain_id=row.domain_id,
            classification_type=ClassificationType(row.classification_type) if row.classification_type else None,
            tags=tuple((tag_id, name) for tag_id, name in row.tags or ()),
            publish_name=row.publish_name, prediction_resource_id=row.prediction_resource_id,
            published=utc(row.published_at) if row.published_at else None,
        )


def _get(session: Session, table: Any, ident: str, what: str) -> Any:
    row = session.get(table, ident)
    if row is None:
        raise NotFound(what, ident)
    return row


def _tag(row: TagRow, count: int) -> Tag:
    return Tag(row.id, row.name, row.description, TagType(row.type), count)


def _region(row: RegionRow, names: dict[str, str]) -> Region:
    return Region(row.id, row.tag_id, names.get(row.tag_id, ""), row.left, row.top, row.width, row.height,
                  utc(row.created_at))


def _prediction(row: PredictionRow) -> StoredPrediction:
    return StoredPrediction(
        id=row.id, project_id=row.project_id, iteration_id=row.iteration_id, created=utc(row.created_at),
        width=row.width, height=row.height, format=row.format, application=row.application,
        predictions=tuple((float(p), tag_id, name, tuple(box) if box else None)
                          for p, tag_id, name, box in row.predictions or ()),
    )
