"""`tailor secrets rotate` and `new-key`, as an operator runs them: datasets that read a private Azurite container
with a SAS token (in `authentication`, or in the URI itself) still read it after the key is rotated and only the new
key is left, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tailor.blobs import Access, AuthKind
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec, InvalidAnnotations
from tailor.secrets import SecretBox, SecretKeyError
from tailor.settings import Settings
from tailor.workers import JobContext
from tests.coco.builders import classification
from tests.databases import database_url, postgres_url  # noqa: F401  (fixtures)

runner = CliRunner()
OLD, NEW = SecretBox.new_key(), SecretBox.new_key()


@pytest.fixture
def private_specs(azurite) -> dict[str, DatasetSpec]:
    """Two datasets of one private container: a token in `authentication`, and a SAS in the URI itself."""
    azurite.container("rotation", public=False)
    uri = azurite.upload("rotation", "train.json", json.dumps(classification()).encode())
    token = azurite.sas_for("rotation", "train.json")
    return {
        "with-token": DatasetSpec(AnnotationKind.CLASSIFICATION, (uri,), {}, Access(AuthKind.SAS, token)),
        "with-sas-url": DatasetSpec(AnnotationKind.CLASSIFICATION, (f"{uri}?{token}",), {}, Access()),
    }


def settings(tmp_path: Path, database: str, azurite, keys: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database, allow_hosts=[azurite.host_port],
                    secret_key=keys)


def rotate(tmp_path: Path, database: str, keys: str):
    env = {"TAILOR_DATA_DIR": str(tmp_path / "data"), "TAILOR_DATABASE_URL": database, "TAILOR_SECRET_KEY": keys}
    from tailor.cli import app

    return runner.invoke(app, ["secrets", "rotate"], env=env)


def test_after_rotation_with_only_the_new_key_every_dataset_reads_its_private_container(
    tmp_path: Path, database_url: str, azurite, private_specs: dict[str, DatasetSpec]
) -> None:
    before = JobContext(settings(tmp_path, database_url, azurite, OLD))
    for name, spec in private_specs.items():
        before.datasets.register(name, spec)  # reads the container: the tokens work
    before.close()

    result = rotate(tmp_path, database_url, f"{NEW},{OLD}")
    assert result.exit_code == 0, result.output
    assert "the credentials of 2 dataset(s)" in result.output

    after = JobContext(settings(tmp_path, database_url, azurite, NEW))
    try:
        for name, spec in private_specs.items():
            dataset = after.store.datasets.get(name)
            assert dataset.spec == spec
            report = after.datasets.load(dataset.spec, purpose=None)  # the private container, read again
            assert len(report.dataset.image_urls) == len(classification()["images"])
        with pytest.raises(InvalidAnnotations):  # the container is private indeed: without the token, refused
            after.datasets.load(replace(private_specs["with-token"], access=Access()), purpose=None)
    finally:
        after.close()

    with pytest.raises(SecretKeyError, match="TAILOR_SECRET_KEY does not open"):
        JobContext(settings(tmp_path, database_url, azurite, OLD)).store  # the old key alone: refused at start


def test_rotate_names_what_no_key_opens_and_exits_1(
    tmp_path: Path, database_url: str, azurite, private_specs: dict[str, DatasetSpec]
) -> None:
    context = JobContext(settings(tmp_path, database_url, azurite, OLD))
    context.datasets.register("with-token", private_specs["with-token"])
    context.close()
    result = rotate(tmp_path, database_url, NEW)  # OLD left out too soon
    assert result.exit_code == 1
    assert "no key of TAILOR_SECRET_KEY opens the credentials of 1 dataset(s): 'with-token'" in result.output


def test_rotate_at_scale_without_a_key_exits_2_naming_the_setting(tmp_path: Path) -> None:
    result = rotate(tmp_path, "postgresql://tailor@127.0.0.1:1/tailor", "")
    assert result.exit_code == 2
    assert "TAILOR_SECRET_KEY is not set" in result.output and "Traceback" not in result.output


def test_new_key_prints_a_key_that_works() -> None:
    from tailor.cli import app

    result = runner.invoke(app, ["secrets", "new-key"])
    assert result.exit_code == 0
    box = SecretBox([result.output.strip()])
    assert box.open(box.seal("sv=1&sig=x"), "dataset 'x'") == "sv=1&sig=x"
