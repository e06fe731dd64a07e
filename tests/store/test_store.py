"""One contract for the metadata store, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from tailor.blobs import Access, AuthKind
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.enums import ModelStatus
from tailor.errors import AlreadyExists, EtagMismatch, NotFound
from tailor.models import TrainingParameters
from tailor.secrets import SecretBox
from tailor.store import Store

SPEC = DatasetSpec(AnnotationKind.CLASSIFICATION, ("https://h/a.json",), {"team": "vision"}, Access(AuthKind.SAS, "sv=1"))


@pytest.fixture
def store(database_url: str):
    store = Store.connect(database_url, SecretBox([SecretBox.new_key()]))
    yield store
    store.close()


def test_insert_then_get_round_trips_everything(store: Store) -> None:
    before = datetime.now(UTC)
    made = store.datasets.insert("fruit", SPEC)
    got = store.datasets.get("fruit")
    assert got == made
    assert got.spec == SPEC
    assert got.created.tzinfo is not None and got.created >= before.replace(microsecond=0)
    assert got.created == got.updated and len(got.etag) == 32


def test_names_are_unique(store: Store) -> None:
    store.datasets.insert("fruit", SPEC)
    with pytest.raises(AlreadyExists):
        store.datasets.insert("fruit", SPEC)
    assert store.datasets.count() == 1


def test_of_concurrent_inserts_of_one_name_exactly_one_wins(store: Store) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            store.datasets.insert("race", SPEC)
            results.append("created")
        except AlreadyExists:
            results.append("exists")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["created"] + ["exists"] * 7


def test_missing_records(store: Store) -> None:
    with pytest.raises(NotFound):
        store.datasets.get("nope")
    with pytest.raises(NotFound):
        store.datasets.delete("nope", None)
    with pytest.raises(NotFound):
        store.datasets.replace("nope", SPEC, None)


def test_replace_is_conditional_on_the_etag(store: Store) -> None:
    made = store.datasets.insert("fruit", SPEC)
    changed = DatasetSpec(AnnotationKind.CLASSIFICATION, ("https://h/b.json", "https://h/c.json"), {}, Access())
    with pytest.raises(EtagMismatch):
        store.datasets.replace("fruit", changed, "stale")
    assert store.datasets.get("fruit").spec == SPEC
    after = store.datasets.replace("fruit", changed, made.etag)
    assert after.spec == changed and after.etag != made.etag and after.updated >= made.updated
    assert after.created == made.created


def test_delete_is_conditional_on_the_etag(store: Store) -> None:
    made = store.datasets.insert("fruit", SPEC)
    with pytest.raises(EtagMismatch):
        store.datasets.delete("fruit", "stale")
    store.datasets.delete("fruit", made.etag)
    with pytest.raises(NotFound):
        store.datasets.get("fruit")


def test_pages_in_creation_order(store: Store) -> None:
    for k in range(7):
        store.datasets.insert(f"d{k}", SPEC)
    first = store.datasets.list(0, 3)
    assert [d.name for d in first.items] == ["d0", "d1", "d2"] and first.more
    last = store.datasets.list(6, 3)
    assert [d.name for d in last.items] == ["d6"] and not last.more
    assert store.datasets.list(7, 3).items == []


def test_models_and_evaluations_page_in_creation_order_too(store: Store) -> None:
    for k in range(4):
        store.models.insert(f"m{k}", TrainingParameters("fruit", 1.0), None)
        store.evaluations.insert("m0", f"e{k}", "test")
    store.evaluations.insert("m1", "other", "test")
    first = store.models.list(0, 3)
    assert [m.name for m in first.items] == ["m0", "m1", "m2"] and first.more
    assert [m.name for m in store.models.list(3, 3).items] == ["m3"] and not store.models.list(3, 3).more
    evaluations = store.evaluations.list("m0", 2, 2)
    assert [e.name for e in evaluations.items] == ["e2", "e3"] and not evaluations.more


def test_totals_for_metrics_and_the_ping(store: Store) -> None:
    store.ping()
    assert store.models.count_in([ModelStatus.TRAINING]) == 0 and store.models.billed_seconds_total() == 0.0
    for name in ("a", "b", "c"):
        store.models.insert(name, TrainingParameters("fruit", 1.0), None)
    for name in ("a", "b"):
        store.models.move(name, ModelStatus.NOT_STARTED, ModelStatus.TRAINING, attempt=1)
    for name, seconds in (("a", 10.0), ("b", 2.5)):
        assert store.models.update(name, attempt=1, billed_seconds=seconds)
    assert store.models.count_in([ModelStatus.TRAINING]) == 2
    assert store.models.count_in([ModelStatus.TRAINING, ModelStatus.NOT_STARTED]) == 3
    assert store.models.billed_seconds_total() == 12.5
    store.models.delete("a", ModelStatus.TRAINING)
    assert store.models.billed_seconds_total() == 2.5  # a deleted model's bill goes with it
