"""Settings: read once from the environment (prefix `TAILOR_`) into one typed object, then passed in.

Nothing else in Tailor reads the environment. List-valued settings take comma-separated values
(`TAILOR_DATA_ROOTS=/data,/mnt/sets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .enums import Runtime

CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAILOR_", extra="ignore")

    # Where the embedded default keeps its SQLite database, generated keys and Tailor's own storage; where every
    # process keeps its local copies of models.
    data_dir: Path = Field(
        default=Path(".tailor"),
        description=(
            "Data directory: the embedded default's database, keys and storage; any process's work files and local "
            "copies of models."
        ),
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the metadata store; default: SQLite in the data directory."
    )
    redis_url: str | None = Field(
        default=None, description="Redis for the job queue (arq; start workers with `tailor worker`); default: in-process runner."
    )
    queue_name: str = Field(default="tailor:jobs", description="Name of the arq queue in Redis.")

    # Keys: several comma-separated keys each, for rotation.
    training_key: SecretStr | None = Field(default=None, description="Keys for every call, comma-separated.")
    prediction_key: SecretStr | None = Field(default=None, description="Keys for analyze only, comma-separated.")
    # Encrypts the credentials kept for users (tailor.secrets); several for rotation: the first encrypts, all decrypt.
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Keys that encrypt the SAS tokens kept in the database, comma-separated: the first encrypts, all decrypt "
            "(`tailor secrets new-key` makes one); default: generated in the data directory, required with "
            "PostgreSQL."
        ),
    )

    # What the service may read on a user's behalf.
    data_roots: CommaList = Field(
        default_factory=list, description="Local folders that annotation and image paths (and file:// URIs) may name."
    )
    allow_hosts: CommaList = Field(
        default_factory=list,
        description="host:port entries fetched even though they are loopback or private (e.g. Azurite).",
    )
    storage_connection_string: SecretStr | None = Field(
        default=None,
        description=(
            "Azure Storage connection string used for `managedIdentity` datasets, and for Tailor's own storage "
            "(TAILOR_ARTIFACTS_URL or TAILOR_STORAGE_CONTAINER) in that account."
        ),
    )
    # Tailor's own storage (tailor.blobs.open_storage): uploaded images, training snapshots, trained models, reports.
    artifacts_url: SecretStr | None = Field(
        default=None,
        description=(
            "URL of the Azure Blob container where Tailor keeps what it trains and is given (models, reports, "
            "evaluation outputs, uploaded images, training snapshots); credential: a SAS in the URL, else "
            "TAILOR_STORAGE_CONNECTION_STRING's key for its account, else the host's Azure identity. Wins over "
            "TAILOR_STORAGE_CONTAINER; default: the data directory."
        ),
    )
    storage_container: str | None = Field(
        default=None,
        description=(
            "Container in the storage account of TAILOR_STORAGE_CONNECTION_STRING where Tailor keeps the same "
            "(another way to name it, when TAILOR_ARTIFACTS_URL is unset); default: the data directory."
        ),
    )
    artifact_cache_mb: int = Field(
        default=10240, ge=1,
        description=(
            "Disk the local copies of trained models (downloaded from Tailor's storage, checked, under the data "
            "directory) may take, in MB; the least recently used copy not in use goes first."
        ),
    )

    # Limits.
    max_annotation_mb: int = Field(default=512, ge=1, description="Largest annotation file read, in MB.")
    max_request_kb: int = Field(default=1024, ge=1, description="Largest JSON request body, in KB.")
    max_json_depth: int = Field(default=32, ge=2, description="Deepest nesting accepted in a JSON request body.")
    fetch_timeout_s: float = Field(default=30.0, gt=0, description="Timeout of one read of a blob or URL.")
    fetch_retries: int = Field(default=3, ge=0, description="Retries of a read that failed for a transient reason.")

    # Operator limits on training (on top of API.md's quotas); a request over one is refused with a clear 400.
    max_budget_hours: float | None = Field(default=None, gt=0, description="Largest timeBudgetInHours of one model.")
    max_training_hours_per_key: float | None = Field(
        default=None, gt=0, description="Sum of the budgets of the models one key may have at once."
    )
    default_budget_hours: float = Field(
        default=0.25, gt=0, description="Budget of a Custom Vision training that names none (trainingType Regular)."
    )
    trainings_per_device: int = Field(default=1, ge=1, description="Trainings run at once by one runner or worker.")
    devices: CommaList = Field(
        default_factory=list,
        description=(
            "Devices whose trials one training runs side by side: `all` (every GPU), `cuda:0,cuda:1`, or CPU slots "
            "`cpu:0,cpu:1`; default: one, the GPU when there is one. Trained models (analyze, predictions, "
            "evaluations) run on the first: `cuda:1` puts a process on the second GPU."
        ),
    )
    backbones: CommaList = Field(
        default_factory=list,
        description=(
            "The operator's own backbones, beside the four bundled ones: `timm_architecture=weights`, comma-separated; "
            "weights are a local .safetensors file or torch state dict, or `hf-hub:timm/<repo>` to download through "
            "timm (the machine needs the network). Converted once into <data dir>/weights; the search then includes "
            "them."
        ),
    )
    training_helpers: int = Field(
        default=0, ge=0, le=64,
        description=(
            "Other workers a classifier training asks to join its search (PostgreSQL and Redis only); each gives way "
            "to a queued job."
        ),
    )

    # Predictions (analyze): the model cache, batching and the images accepted.
    model_cache_size: int = Field(
        default=8, ge=1, description="Models kept loaded for analyze; the least recently used goes first."
    )
    model_cache_mb: int = Field(
        default=2048, ge=1, description="Memory the loaded models may take, in MB (estimated from their weights)."
    )
    preload_models: int = Field(
        default=4, ge=0, description="Most recently used models loaded when the service starts (0: none)."
    )
    analyze_batch_size: int = Field(default=8, ge=1, description="Most analyze requests run through a model at once.")
    analyze_batch_wait_ms: float = Field(
        default=5.0, ge=0, description="Longest a batch of analyze requests waits for requests on their way to join it."
    )
    inference_threads: int | None = Field(
        default=None, ge=1,
        description="Threads torch and ONNX Runtime use for predictions; default: the CPUs this process may use.",
    )
    runtime: Runtime = Field(
        default=Runtime.AUTO,
        description=(
            "What runs trained models for analyze: `onnxruntime` (their ONNX export), `torch`, or `auto` (both "
            "measured once per model on this host; the faster kept)."
        ),
    )
    analyze_fetch_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of reading an analyze `url`.")
    max_image_megapixels: float = Field(
        default=50.0, gt=0, description="Largest image analyzed, in megapixels (bombs are refused from the header)."
    )

    # The server.
    host: str = Field(default="127.0.0.1", description="Address `tailor serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `tailor serve` listens on.")

    # What the processes say about themselves: logs and /metrics.
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Log lines of `tailor serve`, `tailor worker` and trainings: `json` (one object a line) or `text`.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log line written."
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics without a key (a scraper on a private network); default: a training key is needed.",
    )

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("data_roots", "allow_hosts", "devices", "backbones", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def max_annotation_bytes(self) -> int:
        return self.max_annotation_mb * 1024 * 1024

    @property
    def resolved_database_url(self) -> str:
        """The metadata database as an SQLAlchemy URL; a plain postgresql:// URL gets the installed driver."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'tailor.db').resolve()}"
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
