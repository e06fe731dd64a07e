"""docker-compose.yml and the Dockerfile, checked without a Docker engine: every TAILOR_ variable they set is a real
setting, every service the api depends on exists and has a health check."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tailor.blobs import open_storage
from tailor.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {f"TAILOR_{name.upper()}" for name in Settings.model_fields}


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_tailor_variable_in_compose_is_a_setting() -> None:
    doc = compose()
    used = set()
    for service in doc["services"].values():
        environment = service.get("environment") or {}
        names = environment if isinstance(environment, dict) else [e.split("=")[0] for e in environment]
        used |= {n for n in names if n.startswith("TAILOR_")}
    assert used, "the api service should be configured through TAILOR_ variables"
    assert used <= SETTINGS, f"not settings: {sorted(used - SETTINGS)}"


def test_every_tailor_variable_in_the_dockerfile_is_a_setting() -> None:
    used = set(re.findall(r"\b(TAILOR_[A-Z_]+)=", (REPO / "Dockerfile").read_text()))
    assert used and used <= SETTINGS, sorted(used - SETTINGS)


def test_services_and_health_checks() -> None:
    services = compose()["services"]
    assert {"api", "worker", "postgres", "redis", "azurite"} <= set(services)
    assert services["worker"]["command"] == ["tailor", "worker"]
    assert services["worker"]["environment"]["TAILOR_REDIS_URL"].startswith("redis://")
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    for dependency in services["api"]["depends_on"]:
        assert dependency in services
        assert services["api"]["depends_on"][dependency]["condition"] == "service_healthy"
    assert "/ready" in " ".join(services["api"]["healthcheck"]["test"])  # healthy: its database, Redis, storage


def test_no_volume_is_shared_between_the_api_and_the_workers() -> None:
    """Trained models and reports go through Tailor's container in Azurite, as between separate machines."""
    services = compose()["services"]

    def named_volumes(service: dict) -> set[str]:
        return {entry.split(":")[0] for entry in service.get("volumes", ()) if not entry.startswith((".", "/"))}

    assert not named_volumes(services["api"]) & named_volumes(services["worker"])
    environment = services["api"]["environment"]
    assert environment["TAILOR_ARTIFACTS_URL"] == "http://azurite:10000/devstoreaccount1/tailor"
    assert "TAILOR_STORAGE_CONTAINER" not in environment
    assert "azurite" in services["worker"]["depends_on"]
    settings = Settings(artifacts_url=environment["TAILOR_ARTIFACTS_URL"],
                        storage_connection_string=environment["TAILOR_STORAGE_CONNECTION_STRING"])
    storage = open_storage(settings)  # contacts nothing
    assert storage.container == "tailor"  # where the compose stack of earlier versions kept its images
    storage.close()


def test_the_compose_database_url_is_postgresql() -> None:
    environment = compose()["services"]["api"]["environment"]
    assert environment["TAILOR_DATABASE_URL"].startswith("postgresql://")
    resolved = Settings(database_url=environment["TAILOR_DATABASE_URL"]).resolved_database_url
    assert resolved == "postgresql+psycopg://tailor:tailor@postgres:5432/tailor"
