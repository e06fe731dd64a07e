"""Schema migrations (tailor.store._migrate, tailor/store/migrations), on SQLite and PostgreSQL alike: a new database
gets every revision, one made before migrations existed keeps every record, the revisions agree with _tables.py,
Optuna's own Alembic history lives beside ours, and processes starting together migrate once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import optuna
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, insert, inspect, select, text

from tailor.blobs import Access, AuthKind
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.enums import FailureCode, ModelKind, ModelStatus
from tailor.evaluations import EvaluationStatus
from tailor.records import TrainingError, TrainingParameters
from tailor.secrets import SecretBox, SecretKeyError
from tailor.store import Store, _migrate
from tailor.store._database import utc
from tailor.store._tables import Base, ModelUsageRow
from tailor.store.migrations.__main__ import draft

from . import landed_schema

REPO = Path(__file__).resolve().parents[2]
OURS = sorted(Base.metadata.tables)
CREATED = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)
UPDATED = datetime(2026, 11, 21, 17, 5, 59, 654321, tzinfo=UTC)
USED = datetime(2026, 11, 29, 23, 59, 58, 500000, tzinfo=UTC)
BOX = SecretBox([SecretBox.new_key()])
PERFORMANCE = {"accuracyTop1": 0.9375, "perClass": {"apple": {"precision": 1.0, "recall": 0.875}}, "ok": [1, 2, 3]}


def engine_of(url: str) -> Engine:
    return create_engine(url)


def make_landed(url: str) -> None:
    """The database as the code before migrations left it: its tables, no version table."""
    engine = engine_of(url)
    landed_schema.metadata.create_all(engine)
    engine.dispose()


def version_of(url: str) -> tuple[str, ...]:
    engine = engine_of(url)
    try:
        return _migrate.current_revisions(engine)
    finally:
        engine.dispose()


def schema_of(url: str) -> dict[str, list[tuple]]:
    """Every column, constraint, index and sequence of Tailor's tables, as the database itself describes them."""
    engine = engine_of(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = connection.execute(text(
                    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN "
                    f"({', '.join(repr(name) for name in OURS)}) ORDER BY name"
                ))
                return {"sqlite_master": [tuple(row) for row in rows]}
            queries = {
                "columns": "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, "
                "numeric_precision, is_nullable, column_default FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = ANY(:names) ORDER BY table_name, ordinal_position",
                "constraints": "SELECT conrelid::regclass::text AS t, conname, contype, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE conrelid::regclass::text = ANY(:names) ORDER BY t, conname",
                "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' AND tablename = ANY(:names) ORDER BY tablename, indexname",
                "sequences": "SELECT sequence_name, data_type, start_value, increment "
                "FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY sequence_name",
            }
            return {
                what: [tuple(row) for row in connection.execute(text(query), {"names": OURS})]
                for what, query in queries.items()
            }
    finally:
        engine.dispose()


def raw_credentials(url: str, name: str) -> tuple[str | None, list[str]]:
    """The columns that hold a dataset's credentials, as the table has them."""
    engine = engine_of(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(landed_schema.datasets.c.sas_token, landed_schema.datasets.c.annotation_file_uris)
                .where(landed_schema.datasets.c.name == name)
            ).one()
            return row.sas_token, row.annotation_file_uris
    finally:
        engine.dispose()


def differences(url: str) -> list:
    """What autogenerate would write into a new revision: nothing, when the revisions agree with _tables.py."""
    engine = engine_of(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "version_table": _migrate.VERSION_TABLE, "include_name": _migrate.ours,
                "compare_type": True, "compare_server_default": True,
            })
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


# A new database -------------------------------------------------------------------------------------------------


def test_a_new_database_gets_every_revision(blank_database_url: str) -> None:
    Store.connect(blank_database_url).close()
    assert version_of(blank_database_url) == (_migrate.head(),)
    assert differences(blank_database_url) == []


def test_the_first_revision_is_exactly_the_landed_schema(blank_database_url: str) -> None:
    make_landed(blank_database_url)
    landed = schema_of(blank_database_url)
    engine = engine_of(blank_database_url)
    landed_schema.metadata.drop_all(engine)
    assert inspect(engine).get_table_names() == []
    with engine.begin() as connection:
        command.upgrade(_migrate.config(connection), _migrate.LANDED)
    engine.dispose()
    assert schema_of(blank_database_url) == landed


def test_every_revision_downgrades_and_upgrades_again(blank_database_url: str) -> None:
    Store.connect(blank_database_url).close()
    schema = schema_of(blank_database_url)
    engine = engine_of(blank_database_url)
    with engine.begin() as connection:
        command.downgrade(_migrate.config(connection), "base")
    assert set(inspect(engine).get_table_names()) == {_migrate.VERSION_TABLE}
    engine.dispose()
    Store.connect(blank_database_url).close()
    assert schema_of(blank_database_url) == schema


def test_revision_files_are_numbered_in_order() -> None:
    """versions/NNNN_what_changes.py, revision NNNN after NNNN-1: one straight line of history, one head."""
    script = _migrate._script()
    revisions = list(reversed(list(script.walk_revisions())))
    assert [r.revision for r in revisions] == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    for before, revision in zip([None, *revisions], revisions):
        assert revision.down_revision == (before.revision if before else None)
        assert re.fullmatch(rf"{revision.revision}_[a-z0-9_]+\.py", revision.path.rsplit("/", 1)[-1])
    assert script.get_heads() == [revisions[-1].revision]



def test_a_draft_of_the_next_revision_is_numbered_and_empty_while_the_tables_agree(tmp_path, monkeypatch) -> None:
    latest = _migrate.head()
    following = f"{int(latest) + 1:04d}"
    copy = tmp_path / "migrations"  # drafted into a copy: the package's own versions/ stays as it is
    shutil.copytree(_migrate.MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_migrate, "MIGRATIONS", copy)
    _migrate._script.cache_clear()
    try:
        path = draft("Custom Vision projects")
    finally:
        _migrate._script.cache_clear()
    assert path == copy / "versions" / f"{following}_custom_vision_projects.py"
    body = path.read_text()
    assert f'revision = "{following}"' in body and f'down_revision = "{latest}"' in body
    assert "op." not in body  # nothing to do: _tables.py and the revisions agree

# A database made before migrations ------------------------------------------------------------------------------


def test_a_landed_database_is_upgraded_losing_nothing(blank_database_url: str) -> None:
    make_landed(blank_database_url)
    engine = engine_of(blank_database_url)
    with engine.begin() as connection:
        connection.execute(insert(landed_schema.datasets), [{
            "name": "fruit", "annotation_kind": "imageClassification",
            "annotation_file_uris": ["https://h/a.json", "https://h/b.json?sv=2&sig=y"],
            "custom_properties": {"team": "vision", "ünïcode": "✓"}, "auth_kind": "sas", "sas_token": "sv=1&sig=x",
            "created_at": CREATED, "updated_at": UPDATED, "etag": "e" * 32,
        }])
        model = {
            "training_dataset_name": "fruit", "model_kind": "Generic-Classifier", "test_dataset_name": None,
            "created_at": CREATED, "updated_at": UPDATED, "progress": {}, "performance": None, "error_code": None,
            "error_message": None, "artifact": None, "owner": None,
        }
        connection.execute(insert(landed_schema.models), [
            model | {
                "name": "apples", "status": "succeeded", "budget_hours": 0.25, "test_dataset_name": "fruit-test",
                "attempt": 2, "billed_seconds": 812.5, "performance": PERFORMANCE, "progress": {"trials": 7},
                "artifact": "/data/models/apples/attempt-2", "owner": "k" * 16,
            },
            model | {
                "name": "pears", "status": "failed", "budget_hours": 1.0, "attempt": 1, "billed_seconds": 3.0,
                "error_code": "datasetCorrupt", "error_message": "image 3 is not an image",
            },
        ])
        connection.execute(insert(landed_schema.model_usage), [{"name": "apples", "last_used_at": USED}])
        connection.execute(insert(landed_schema.evaluations), [{
            "model_name": "apples", "name": "holdout", "test_dataset_name": "fruit-test", "status": "succeeded",
            "created_at": CREATED, "updated_at": UPDATED, "attempt": 1, "performance": PERFORMANCE,
            "error_code": None, "error_message": None, "report": "/data/models/apples/evaluations/holdout/attempt-1",
        }])
    engine.dispose()

    store = Store.connect(blank_database_url, BOX)
    try:
        assert version_of(blank_database_url) == (_migrate.head(),)
        token, uris = raw_credentials(blank_database_url, "fruit")  # encrypted by revision 0003
        assert token.startswith("fernet:") and uris[0] == "https://h/a.json" and uris[1].startswith("fernet:")
        dataset = store.datasets.get("fruit")
        assert dataset.name == "fruit"
        assert dataset.spec == DatasetSpec(
            AnnotationKind.CLASSIFICATION, ("https://h/a.json", "https://h/b.json?sv=2&sig=y"),
            {"team": "vision", "ünïcode": "✓"}, Access(AuthKind.SAS, "sv=1&sig=x"),
        )
        assert (dataset.created, dataset.updated, dataset.etag) == (CREATED, UPDATED, "e" * 32)

        apples = store.models.get("apples")
        assert apples.status is ModelStatus.SUCCEEDED
        assert apples.training == TrainingParameters("fruit", 0.25, ModelKind.CLASSIFIER)
        assert apples.test_dataset_name == "fruit-test"
        assert (apples.created, apples.updated) == (CREATED, UPDATED)
        assert (apples.billed_seconds, apples.attempt, apples.error) == (812.5, 2, None)
        assert apples.performance == PERFORMANCE
        assert apples.progress == {"trials": 7}
        assert apples.artifact == "/data/models/apples/attempt-2"
        assert store.models.budget_hours_of("k" * 16) == 0.25
        pears = store.models.get("pears")
        assert pears.status is ModelStatus.FAILED and pears.performance is None and pears.test_dataset_name is None
        assert pears.error == TrainingError(FailureCode.DATASET_CORRUPT, "image 3 is not an image")

        assert [m.name for m in store.models.recently_used(5)] == ["apples"]
        with store.engine.connect() as connection:
            used = connection.execute(select(ModelUsageRow.last_used_at)).scalar_one()  # no Store method reads it
        assert utc(used) == USED

        evaluation = store.evaluations.get("apples", "holdout")
        assert (evaluation.model_name, evaluation.test_dataset_name) == ("apples", "fruit-test")
        assert evaluation.status is EvaluationStatus.SUCCEEDED
        assert (evaluation.created, evaluation.updated, evaluation.attempt) == (CREATED, UPDATED, 1)
        assert evaluation.performance == PERFORMANCE and evaluation.error is None
        assert evaluation.report == "/data/models/apples/evaluations/holdout/attempt-1"

        # The ids go on from the landed rows (PostgreSQL's sequences came through too), and names stay unique.
        store.datasets.insert("more", dataset.spec)
        assert [d.name for d in store.datasets.list(0, 10).items] == ["fruit", "more"]
        store.models.insert("plums", TrainingParameters("more", 0.5, ModelKind.DETECTOR), None)
        assert store.models.names_in([ModelStatus.NOT_STARTED]) == ["plums"]
        store.evaluations.insert("apples", "second", "more")
        assert [e.name for e in store.evaluations.list("apples", 0, 10).items] == ["holdout", "second"]
    finally:
        store.close()

    Store.connect(blank_database_url).close()  # again: nothing to do
    assert version_of(blank_database_url) == (_migrate.head(),)
    assert differences(blank_database_url) == []


def test_an_emptied_version_table_is_stamped_again(blank_database_url: str) -> None:
    """A version table truncated away (as a test helper might) reads like a landed database: still no data lost."""
    store = Store.connect(blank_database_url)
    store.datasets.insert("fruit", DatasetSpec(AnnotationKind.CLASSIFICATION, ("https://h/a.json",), {}, Access()))
    with store.engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {_migrate.VERSION_TABLE}"))
    store.close()
    store = Store.connect(blank_database_url)
    assert store.datasets.get("fruit").spec.annotation_file_uris == ("https://h/a.json",)
    store.close()
    assert version_of(blank_database_url) == (_migrate.head(),)


def test_the_test_helper_keeps_the_version(database_url: str) -> None:
    """tests.databases.empty_database_url truncates Base's tables only: the version table keeps its row."""
    Store.connect(database_url).close()
    assert version_of(database_url) == (_migrate.head(),)


def test_a_database_newer_than_the_code_is_refused(blank_database_url: str) -> None:
    Store.connect(blank_database_url).close()
    engine = engine_of(blank_database_url)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {_migrate.VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(RuntimeError, match="revision 9999, which this version of Tailor does not know"):
        Store.connect(blank_database_url)


# Credentials encrypted by revision 0003 --------------------------------------------------------------------------

PLAIN_ROWS = [  # as a database at 0002 holds them: tokens and SAS URLs in plain text
    {"name": "private", "auth_kind": "sas", "sas_token": "sv=2024-05-04&sr=c&sp=rl&sig=SECRET%2Bone",
     "annotation_file_uris": ["https://acct.blob.core.windows.net/c/a.json"]},
    {"name": "signed-url", "auth_kind": "none", "sas_token": None,
     "annotation_file_uris": ["https://acct.blob.core.windows.net/c/b.json?sv=2024&SIG=SECRET-two", "/data/c.json"]},
    {"name": "public", "auth_kind": "none", "sas_token": None, "annotation_file_uris": ["https://h/d.json?snapshot=1"]},
]


def insert_plain(url: str) -> None:
    engine = engine_of(url)
    with engine.begin() as connection:
        connection.execute(insert(landed_schema.datasets), [
            row | {"annotation_kind": "imageClassification", "custom_properties": {}, "created_at": CREATED,
                   "updated_at": UPDATED, "etag": f"{n}" * 32}
            for n, row in enumerate(PLAIN_ROWS)
        ])
    engine.dispose()


def test_revision_0003_encrypts_the_tokens_of_a_database_at_0002_and_its_downgrade_decrypts_them(
    blank_database_url: str,
) -> None:
    engine = engine_of(blank_database_url)
    with engine.begin() as connection:
        command.upgrade(_migrate.config(connection), "0002")
    engine.dispose()
    insert_plain(blank_database_url)

    store = Store.connect(blank_database_url, BOX)
    private, signed, public = (raw_credentials(blank_database_url, row["name"]) for row in PLAIN_ROWS)
    assert private[0].startswith("fernet:") and "SECRET" not in private[0]
    assert private[1] == PLAIN_ROWS[0]["annotation_file_uris"]  # a URI without a signature stays readable
    assert signed[0] is None and signed[1][0].startswith("fernet:") and "SECRET" not in signed[1][0]
    assert signed[1][1] == "/data/c.json"
    assert public == (None, PLAIN_ROWS[2]["annotation_file_uris"])
    for row in PLAIN_ROWS:  # nothing lost: every dataset reads as it was stored
        spec = store.datasets.get(row["name"]).spec
        assert spec.access.sas_token == row["sas_token"]
        assert list(spec.annotation_file_uris) == row["annotation_file_uris"]
        assert store.datasets.get(row["name"]).etag == f"{PLAIN_ROWS.index(row)}" * 32
    store.close()

    engine = engine_of(blank_database_url)
    with engine.begin() as connection:
        command.downgrade(_migrate.config(connection, BOX), "0002")
    engine.dispose()
    for row in PLAIN_ROWS:
        assert raw_credentials(blank_database_url, row["name"]) == (row["sas_token"], row["annotation_file_uris"])


def test_without_the_key_plain_tokens_are_not_migrated_and_nothing_changes(blank_database_url: str) -> None:
    make_landed(blank_database_url)
    insert_plain(blank_database_url)
    with pytest.raises(SecretKeyError, match="TAILOR_SECRET_KEY"):
        Store.connect(blank_database_url)
    # One transaction: the stamp and revision 0002's tables went back with it, and every token is as it was.
    assert version_of(blank_database_url) == ()
    engine = engine_of(blank_database_url)
    assert "cv_projects" not in inspect(engine).get_table_names()
    engine.dispose()
    plain = PLAIN_ROWS[0]
    assert raw_credentials(blank_database_url, "private") == (plain["sas_token"], plain["annotation_file_uris"])
    Store.connect(blank_database_url, BOX).close()
    assert raw_credentials(blank_database_url, "private")[0].startswith("fernet:")


# Connecting again, and at once ----------------------------------------------------------------------------------


def test_an_up_to_date_database_is_not_locked_or_changed(blank_database_url: str, monkeypatch) -> None:
    Store.connect(blank_database_url).close()
    statements: list[str] = []
    engine = engine_of(blank_database_url)

    def locked(_engine):
        raise AssertionError("an up-to-date database needs no lock")

    monkeypatch.setattr(_migrate, "_locked", locked)
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))
    _migrate.upgrade(engine)
    engine.dispose()
    assert statements and all(re.match(r"\s*(SELECT|PRAGMA)\b", s, re.IGNORECASE) for s in statements), statements


@pytest.mark.parametrize("start", ["new", "landed"])
def test_processes_starting_at_once_migrate_once(blank_database_url: str, start: str) -> None:
    """Eight Store.connect at once, on separate connections as separate processes would be: all succeed."""
    if start == "landed":
        make_landed(blank_database_url)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def start_one() -> None:
        barrier.wait()
        try:
            Store.connect(blank_database_url).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert version_of(blank_database_url) == (_migrate.head(),)
    engine = engine_of(blank_database_url)
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {_migrate.VERSION_TABLE}")).scalar_one() == 1
    engine.dispose()
    assert differences(blank_database_url) == []



@pytest.mark.slow
def test_an_api_and_workers_starting_together_migrate_once(blank_database_url: str) -> None:
    """The same race between real processes, each its own interpreter, as `docker compose up` starts them."""
    program = (
        "import sys, time; from tailor.store import Store; "
        "time.sleep(max(0.0, float(sys.argv[1]) - time.time())); Store.connect(sys.argv[2]).close()"
    )
    at = time.time() + 3  # after every interpreter has imported Tailor
    environment = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's tailor, wherever pytest runs from
    processes = [
        subprocess.Popen([sys.executable, "-c", program, str(at), blank_database_url], env=environment,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    failures = [p.stderr.read() for p in processes if p.wait(timeout=120) != 0]
    assert failures == []
    assert version_of(blank_database_url) == (_migrate.head(),)
    assert differences(blank_database_url) == []

# Optuna in the same database ------------------------------------------------------------------------------------


def _optimize(url: str, trials: int) -> int:
    storage = optuna.storages.RDBStorage(url)
    study = optuna.create_study(storage=storage, study_name="search", load_if_exists=True)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=trials)
    count = len(optuna.load_study(study_name="search", storage=storage).trials)
    storage.engine.dispose()
    return count


def _optuna_version(url: str) -> tuple[str, ...]:
    engine = engine_of(url)
    with engine.connect() as connection:  # Alembic's default version table, which Optuna uses
        found = MigrationContext.configure(connection).get_current_heads()
    engine.dispose()
    return found


def test_an_optuna_study_made_first_survives_the_upgrade(blank_database_url: str) -> None:
    assert _optimize(blank_database_url, 2) == 2
    optuna_version = _optuna_version(blank_database_url)
    assert optuna_version
    Store.connect(blank_database_url).close()
    assert version_of(blank_database_url) == (_migrate.head(),)
    assert _optuna_version(blank_database_url) == optuna_version
    assert _optimize(blank_database_url, 1) == 3
    assert differences(blank_database_url) == []


def test_an_optuna_study_made_after_the_upgrade_leaves_it_alone(blank_database_url: str) -> None:
    make_landed(blank_database_url)  # a landed database, as users have it, that Optuna has not seen yet
    Store.connect(blank_database_url).close()
    assert _optimize(blank_database_url, 2) == 2
    assert _optuna_version(blank_database_url)
    Store.connect(blank_database_url).close()
    assert version_of(blank_database_url) == (_migrate.head(),)
    assert _optimize(blank_database_url, 1) == 3
    assert differences(blank_database_url) == []


def test_the_foreign_tables_are_optunas_and_not_ours() -> None:
    from optuna.storages._rdb.models import BaseModel

    assert set(BaseModel.metadata.tables) | {"alembic_version"} == _migrate.FOREIGN_TABLES
    assert not _migrate.FOREIGN_TABLES & set(Base.metadata.tables)
    assert _migrate.VERSION_TABLE not in _migrate.FOREIGN_TABLES | set(Base.metadata.tables)
