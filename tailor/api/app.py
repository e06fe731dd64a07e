"""The FastAPI application: built from one Settings object, with everything it needs created once here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Security

from .. import __version__
from ..blobs import BlobPolicy, BlobReader
from ..coco import CocoSource
from ..customvision.coco import CocoImporter
from ..customvision.exports import IterationExports
from ..customvision.images import ImageService
from ..customvision.iterations import IterationService
from ..customvision.performance import PerformanceService
from ..customvision.predictions import CustomVisionPredictions
from ..customvision.projects import ProjectService
from ..customvision.stored import StoredPredictions
from ..customvision.suggestions import SmartLabeler
from ..datasets import DatasetService
from ..errors import BlobUnsupported
from ..evaluations import EvaluationService
from ..exports import ExportService
from ..models import ModelService, TrainingLimits
from ..predictions import PredictionConfig, PredictionService
from ..secrets import SecretBox
from ..settings import Settings
from ..workers import InProcessRunner, JobContext
from ..workers.arq_worker import ArqQueue
from . import errors
from .analyze_lane import AnalyzeLane
from .customvision import (
    downloads as cv_downloads,
    images as cv_images,
    prediction as cv_prediction,
    training as cv_training,
)
from .customvision.deps import CustomVisionServices
from .customvision.gateway import CustomVisionGateway
from .customvision.paths import DOWNLOADS_PATH, PREDICTION_PREFIXES, TRAINING_PREFIXES
from .deps import Services, api_version, subscription_key
from .gateway import BASE_PATH, Gateway, Limits
from .keys import Keys, resolve_keys
from .metrics import Metrics
from .readiness import Readiness
from .routes import analyze, datasets, evaluations, models, portal, reports, service
from .schemas import ErrorResponse
from .telemetry import Telemetry


def create_app(settings: Settings, keys: Keys | None = None) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    context = JobContext(settings)
    store = context.store
    policy = BlobPolicy.from_settings(settings)
    storage = context.storage
    artifacts = context.artifacts
    reader = BlobReader(policy, storage=storage)
    keys = keys or resolve_keys(settings)
    runner: InProcessRunner | ArqQueue = (
        ArqQueue(settings, context) if settings.redis_url else InProcessRunner(settings, context)
    )
    exports = ExportService(store, artifacts, settings.data_dir / "cache" / "exports")
    predictions = PredictionService(store, policy, artifacts, PredictionConfig.from_settings(settings),
                                    exports=exports.onnx_of)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Off the event loop: the runner reads the store, and the arq queue opens its Redis pool on a loop of its own.
        await anyio.to_thread.run_sync(runner.start)
        # Requests are taken only once the most recently used models are loaded: fast from the first call.
        await anyio.to_thread.run_sync(predictions.start)
        yield
        predictions.stop()
        runner.stop()
        store.close()

    app = FastAPI(
        title="Tailor",
        version=__version__,
        description="Self-hosted model customization with the Image Analysis 4.0 REST API.",
        lifespan=lifespan,
        responses={"default": {"model": ErrorResponse, "description": "An error, in the Azure error envelope."}},
    )
    app.state.settings = settings
    app.state.keys = keys
    app.state.services = Services(
        datasets=DatasetService(store, reader, settings.max_annotation_bytes),
        models=ModelService(
            store, runner, artifacts, TrainingLimits(settings.max_budget_hours, settings.max_training_hours_per_key),
            on_deleted=predictions.forget,
        ),
        evaluations=EvaluationService(store, runner, artifacts),
        predictions=predictions,
        artifacts=artifacts,
        exports=exports,
    )
    app.state.custom_vision = custom_vision_services(app.state.services, store, storage, reader, settings,
                                                     context.secrets)
    app.state.readiness = Readiness.for_service(settings, store, storage)
    app.state.metrics = Metrics(store=store, queue_depth=runner.queued, cache=predictions.cache)

    api = APIRouter(
        prefix=BASE_PATH,
        dependencies=[Security(subscription_key), Depends(api_version)],
    )
    api.include_router(analyze.router)  # first: routes are matched in order, and analyze is the hot path
    api.include_router(datasets.router)
    api.include_router(models.router)
    api.include_router(evaluations.router)
    api.include_router(reports.router)
    app.include_router(api)
    for prefix in TRAINING_PREFIXES:
        app.include_router(cv_training.router, prefix=prefix)
        app.include_router(cv_images.router, prefix=prefix)
    for prefix in PREDICTION_PREFIXES:
        app.include_router(cv_prediction.router, prefix=prefix)
    app.include_router(cv_downloads.router, prefix=DOWNLOADS_PATH)

    app.include_router(service.router)  # /health, /ready, /metrics
    portal.install(app)  # the page at /, its files under /portal

    errors.install(app)
    app.add_middleware(AnalyzeLane, predictions=predictions)  # inside the gateways: keys and versions checked
    app.add_middleware(CustomVisionGateway, keys=keys)
    app.add_middleware(
        Gateway,
        keys=keys,
        limits=Limits(max_request_bytes=settings.max_request_kb * 1024, max_json_depth=settings.max_json_depth),
    )
    app.add_middleware(Telemetry, metrics=app.state.metrics)  # outermost: sees every request
    return app


def custom_vision_services(services: Services, store, storage, reader: BlobReader,
                           settings: Settings, secrets: SecretBox) -> CustomVisionServices:
    """The Custom Vision face, over the same datasets, models and predictions as the Image Analysis face."""

    def read_url(url: str, limit: int) -> bytes:
        if not url.lower().startswith(("http://", "https://")):
            raise BlobUnsupported(url, "an image URL must be http(s)")
        return reader.read(url, max_bytes=limit)

    def read_annotation(uri: str, limit: int) -> CocoSource:
        if not uri.lower().startswith(("http://", "https://")):
            raise BlobUnsupported(uri, "an annotation file URI must be http(s)")
        return reader.annotation_file(uri, max_bytes=limit)

    def forget_files(project) -> None:
        storage.delete_prefix(f"projects/{project.id}/")

    projects = ProjectService(store, on_deleted=forget_files)
    iterations = IterationService(store, projects, services.datasets, services.models, storage,
                                  settings.default_budget_hours)
    images = ImageService(store, projects, storage, read_url)
    stored = StoredPredictions(store, projects, images, storage)
    return CustomVisionServices(
        projects=projects,
        images=images,
        iterations=iterations,
        predictions=CustomVisionPredictions(projects, iterations, services.predictions, read_url, stored),
        performance=PerformanceService(store, iterations, services.artifacts),
        labeler=SmartLabeler(store, projects, iterations, storage, services.predictions),
        stored=stored,
        coco=CocoImporter(projects, images, read_annotation, settings.max_annotation_bytes),
        exports=IterationExports(iterations, services.exports, storage, secrets),
    )
