"""Iterations are Tailor trainings: `train` snapshots the project's tagged images into a COCO file in Tailor's
storage, registers it as a dataset and creates a model on it, with the same AutoML, budget ledger and failure codes
as `PUT /computervision/models/{name}`. An iteration's status is its model's; publishing names it for the
prediction API. The Image Analysis face lists and analyzes the same model (named `cv-<iteration id>`)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..blobs import Access
from ..datasets import DatasetService, DatasetSpec, InvalidAnnotations
from ..enums import ModelKind, ModelStatus
from ..errors import AlreadyExists, InvalidInput, NotFound
from ..models import Model, ModelService, TrainingParameters
from .codes import DomainType, ErrorCode, IterationStatus, TaggingStatus, TrainingType
from .errors import CustomVisionError
from .images import ImageFile, image_key
from .projects import ProjectService, checked_id
from .records import ImageQuery, Iteration, Project
from .snapshot import snapshot

if TYPE_CHECKING:
    from ..blobs import Storage
    from ..store import Store

MAX_ITERATIONS_PER_PROJECT = 20  # Custom Vision's


@dataclass(frozen=True)
class IterationView:
    """An iteration with what its model says of it now."""

    iteration: Iteration
    model: Model | None  # None only if the model was deleted behind the iteration's back

    @property
    def status(self) -> IterationStatus:
        if self.model is None:
            return IterationStatus.FAILED
        if self.model.status is ModelStatus.SUCCEEDED:
            return IterationStatus.COMPLETED
        if self.model.status in (ModelStatus.FAILED, ModelStatus.CANCELLED):
            return IterationStatus.FAILED
        return IterationStatus.TRAINING

    @property
    def error_details(self) -> str | None:
        if self.model is None:
            return "the model that trained this iteration was deleted; train the project again"
        if self.model.status is ModelStatus.CANCELLED:
            return "the training was cancelled; train the project again"
        if self.model.error is not None:
            return f"{self.model.error.code.value}: {self.model.error.message}"
        return None

    @property
    def trained_at(self) -> datetime | None:
        return self.model.updated if self.status is IterationStatus.COMPLETED and self.model else None

    @property
    def training_minutes(self) -> int:
        return self.model.training_cost_minutes if self.model else 0


def model_name_of(iteration_id: str) -> str:
    return f"cv-{iteration_id}"


class IterationService:
    def __init__(self, store: Store, projects: ProjectService, datasets: DatasetService, models: ModelService,
                 storage: Storage, default_budget_hours: float):
        self._store = store
        self._records = store.projects
        self._projects = projects
        self._datasets = datasets
        self._models = models
        self._storage = storage
        self._default_budget_hours = default_budget_hours

    # Training -------------------------------------------------------------------------------------------------

    def train(self, project_id: str, training_type: str | None = None, reserved_budget_hours: float | None = None,
              force: bool = False, selected_tags: Sequence[str] | None = None, owner: str | None = None
              ) -> IterationView:
        project = self._projects.get(project_id)
        kind, budget = self._budget(training_type, reserved_budget_hours)
        views = [self._view(i) for i in self._records.list_iterations(project.id)]
        running = [v for v in views if v.status is IterationStatus.TRAINING]
        if running:
            raise CustomVisionError(ErrorCode.TRAINING_ALREADY_IN_PROGRESS,
                                    f"{running[0].iteration.name} of this project is still training: wait until "
                                    "get_iteration says Completed or Failed, then train again")
        if views and not force and project.data_changed <= views[-1].iteration.created:
            raise CustomVisionError(ErrorCode.TRAINING_NOT_NEEDED,
                                    f"nothing has changed since {views[-1].iteration.name} was trained: add or tag "
                                    "images first, or train with forceTrain=true")
        if len(views) >= MAX_ITERATIONS_PER_PROJECT:
            raise CustomVisionError(ErrorCode.BAD_REQUEST, f"the project has {len(views)} iterations, the most it "
                                    "can keep: delete one (delete_iteration) and train again")
        tags = self._records.list_tags(project.id)
        images = self._records.query_images(project.id, ImageQuery(TaggingStatus.TAGGED, take=None))
        taken = snapshot(project, tags, images, lambda image: self._storage.uri(
            image_key(project.id, image.id, ImageFile.ORIGINAL, image.format)), selected_tags)
        iteration_id = str(uuid.uuid4())
        name = model_name_of(iteration_id)
        key = f"projects/{project.id}/iterations/{iteration_id}/train.json"
        self._storage.put(key, json.dumps(taken.coco).encode(), "application/json")
        spec = DatasetSpec(taken.kind, (self._storage.uri(key),), {"customVisionProject": project.id}, Access())
        try:
            self._datasets.register(name, spec)
        except InvalidAnnotations as invalid:
            raise CustomVisionError(ErrorCode.TRAINING_VALIDATION_FAILED,
                                    f"the snapshot of the project's images is not trainable: "
                                    f"{invalid.problems[0].message}") from None
        moment = datetime.now(UTC)
        iteration = Iteration(
            iteration_id, project.id, f"Iteration {self._records.count_iterations(project.id) + 1}", moment, moment,
            name, kind, budget if kind is TrainingType.ADVANCED else 0.0, project.domain_id,
            project.classification_type, tuple((t.id, t.name) for t in taken.tags),
        )
        self._records.insert_iteration(iteration)
        model_kind = ModelKind.DETECTOR if project.domain.type is DomainType.OBJECT_DETECTION \
            else ModelKind.CLASSIFIER
        try:
            model = self._models.create(name, TrainingParameters(name, budget, model_kind), None, owner)
        except InvalidInput as refused:
            self._records.delete_iteration(project.id, iteration_id)
            self._datasets.delete(name, None)
            raise CustomVisionError(ErrorCode.BAD_REQUEST, str(refused)) from None
        return IterationView(iteration, model)

    def _budget(self, training_type: str | None, hours: float | None) -> tuple[TrainingType, float]:
        kind = TrainingType.REGULAR
        if training_type:
            matches = [t for t in TrainingType if t.value.lower() == training_type.lower()]
            if not matches:
                raise CustomVisionError(ErrorCode.BAD_REQUEST,
                                        f"trainingType {training_type!r} is not one of Regular, Advanced")
            kind = matches[0]
        if kind is TrainingType.REGULAR:
            return kind, self._default_budget_hours
        if hours is None or not math.isfinite(hours) or hours <= 0:
            raise CustomVisionError(ErrorCode.RESERVED_BUDGET_NOT_ENOUGH,
                                    "Advanced training needs reservedBudgetInHours above 0: the compute hours "
                                    "Tailor may spend")
        return kind, float(hours)

    # Reading and changing -------------------------------------------------------------------------------------

    def list(self, project_id: str) -> list[IterationView]:
        project = self._projects.get(project_id)
        return [self._view(i) for i in self._records.list_iterations(project.id)]

    def get(self, project_id: str, iteration_id: str) -> IterationView:
        project = self._projects.get(project_id)
        try:
            found = self._records.get_iteration(project.id, checked_id(iteration_id, ErrorCode.NOT_FOUND_ITERATION,
                                                                       "iteration"))
        except NotFound:
            raise iteration_not_found(iteration_id) from None
        return self._view(found)

    def completed(self, project_id: str, iteration_id: str | None) -> IterationView:
        """The iteration asked, or the project's latest completed one, and only once it has completed."""
        if iteration_id:
            view = self.get(project_id, iteration_id)
        else:
            done = [v for v in self.list(project_id) if v.status is IterationStatus.COMPLETED]
            if not done:
                raise CustomVisionError(ErrorCode.NOT_FOUND_PROJECT_DEFAULT_ITERATION,
                                        "the project has no trained iteration yet: train it (train_project), or "
                                        "give iterationId")
            view = done[-1]
        if view.status is not IterationStatus.COMPLETED:
            raise CustomVisionError(ErrorCode.ITERATION_IS_NOT_TRAINED,
                                    f"{view.iteration.name} is {view.status.value}, not trained: wait until it is "
                                    "Completed")
        return view

    def rename(self, project_id: str, iteration_id: str, name: str | None) -> IterationView:
        view = self.get(project_id, iteration_id)
        if name is None or not name.strip() or len(name) > 255:
            raise CustomVisionError(ErrorCode.ITERATION_NAME, "give the iteration a name of 1 to 255 characters")
        return self._view(self._records.update_iteration(view.iteration.project_id, view.iteration.id,
                                                         name=name.strip()))

    def delete(self, project_id: str, iteration_id: str) -> None:
        view = self.get(project_id, iteration_id)
        if view.iteration.publish_name:
            raise CustomVisionError(ErrorCode.ITERATION_IS_PUBLISHED,
                                    f"{view.iteration.name} is published as {view.iteration.publish_name!r}: "
                                    "unpublish it first (unpublish_iteration)")
        if view.status is IterationStatus.TRAINING:
            raise CustomVisionError(ErrorCode.BAD_REQUEST, f"{view.iteration.name} is still training: delete it once "
                                    "get_iteration says Completed or Failed")
        self._records.delete_iteration(view.iteration.project_id, view.iteration.id)
        self._forget_model(view)

    def delete_all(self, project: Project) -> None:
        """Before a project goes: its iterations' models and snapshots (refused while one trains)."""
        views = [self._view(i) for i in self._records.list_iterations(project.id)]
        if any(v.status is IterationStatus.TRAINING for v in views):
            raise CustomVisionError(ErrorCode.BAD_REQUEST, "an iteration of this project is still training: delete "
                                    "the project once it has ended")
        for view in views:
            self._forget_model(view)

    def _forget_model(self, view: IterationView) -> None:
        name = view.iteration.model_name
        if view.model is not None:
            self._models.delete(name, for_iteration=True)
        try:
            self._datasets.delete(name, None)
        except NotFound:
            pass

    # Publishing -----------------------------------------------------------------------------------------------

    def publish(self, project_id: str, iteration_id: str, publish_name: str | None, prediction_id: str | None,
                overwrite: bool = False) -> IterationView:
        """Idempotent for the same name (the classification quickstart publishes twice). Tailor is its own
        prediction resource: `prediction_id` is kept and shown as originalPublishResourceId."""
        view = self.get(project_id, iteration_id)
        if not publish_name or not publish_name.strip() or len(publish_name) > 255 or "/" in publish_name:
            raise CustomVisionError(ErrorCode.INVALID_PUBLISH_NAME,
                                    "give publishName: 1 to 255 characters, without '/'")
        if not prediction_id:
            raise CustomVisionError(ErrorCode.REQUIRED_PARAM_IS_NULL,
                                    "give predictionId, the resource id of the prediction resource (any text: Tailor "
                                    "is its own prediction resource and keeps it as originalPublishResourceId)")
        if view.status is not IterationStatus.COMPLETED:
            raise CustomVisionError(ErrorCode.ITERATION_IS_NOT_TRAINED,
                                    f"{view.iteration.name} is {view.status.value}: publish it once it is Completed")
        current = view.iteration
        if current.publish_name == publish_name.strip():
            return view
        project = current.project_id
        try:
            holder = self._records.published_iteration(project, publish_name.strip())
        except NotFound:
            holder = None
        if holder is not None:
            if not overwrite:
                raise CustomVisionError(ErrorCode.INVALID_PUBLISH_NAME,
                                        f"{holder.name} of this project is published as {publish_name!r}: unpublish "
                                        "it, choose another name, or publish with overwrite=true")
            self._records.update_iteration(project, holder.id, publish_name=None, prediction_resource_id=None,
                                           published_at=None)
        try:
            updated = self._records.update_iteration(project, current.id, publish_name=publish_name.strip(),
                                                     prediction_resource_id=prediction_id,
                                                     published_at=datetime.now(UTC))
        except AlreadyExists:
            raise CustomVisionError(ErrorCode.INVALID_PUBLISH_NAME,
                                    f"another iteration was just published as {publish_name!r}; choose another name"
                                    ) from None
        return self._view(updated)

    def unpublish(self, project_id: str, iteration_id: str) -> None:
        view = self.get(project_id, iteration_id)
        if not view.iteration.publish_name:
            raise CustomVisionError(ErrorCode.ITERATION_NOT_PUBLISHED, f"{view.iteration.name} is not published")
        self._records.update_iteration(view.iteration.project_id, view.iteration.id, publish_name=None,
                                       prediction_resource_id=None, published_at=None)

    def published(self, project_id: str, publish_name: str) -> IterationView:
        project = self._projects.get(project_id)
        try:
            found = self._records.published_iteration(project.id, publish_name)
        except NotFound:
            raise CustomVisionError(ErrorCode.ITERATION_NOT_PUBLISHED,
                                    f"no iteration of this project is published as {publish_name!r}: publish one "
                                    "(publish_iteration) or check the name") from None
        return self._view(found)

    def _view(self, iteration: Iteration) -> IterationView:
        try:
            return IterationView(iteration, self._store.models.get(iteration.model_name))
        except NotFound:
            return IterationView(iteration, None)


def iteration_not_found(iteration_id: str) -> CustomVisionError:
    return CustomVisionError(ErrorCode.NOT_FOUND_ITERATION, f"there is no iteration with id {iteration_id!r} in this "
                             "project; get_iterations lists them")

