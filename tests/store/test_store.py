"""One contract for the metadata store, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from tailor.blobs import Access, AuthKind
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.errors import AlreadyExists, EtagMismatch, NotFound
from tailor.store import Store

SPEC = DatasetSpec(AnnotationKind.CLASSIFICATION, ("https://h/a.json",), {"team": "vision"}, Access(AuthKind.SAS, "sv=1"))


@pytest.fixture
def store(database_url: str):
    store = Store.connect(database_url)
    yield store
    store.close()


def test_insert_then_get_round_trips_everything(store: Store) -> None:
    before = datetime.now(UTC)
    made = store.insert_dataset("fruit", SPEC)
    got = store.get_dataset("fruit")
    assert got == made
    assert got.spec == SPEC
    assert got.created.tzinfo is not None and got.created >= before.replace(microsecond=0)
    assert got.created == got.updated and len(got.etag) == 32


def test_names_are_unique(store: Store) -> None:
    store.insert_dataset("fruit", SPEC)
    with pytest.raises(AlreadyExists):
        store.insert_dataset("fruit", SPEC)
    assert store.count_datasets() == 1


def test_of_concurrent_inserts_of_one_name_exactly_one_wins(store: Store) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            store.insert_dataset("race", SPEC)
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
        store.get_dataset("nope")
    with pytest.raises(NotFound):
        store.delete_dataset("nope", None)
    with pytest.raises(NotFound):
        store.replace_dataset("nope", SPEC, None)


def test_replace_is_conditional_on_the_etag(store: Store) -> None:
    made = store.insert_dataset("fruit", SPEC)
    changed = DatasetSpec(AnnotationKind.CLASSIFICATION, ("https://h/b.json", "https://h/c.json"), {}, Access())
    with pytest.raises(EtagMismatch):
        store.replace_dataset("fruit", changed, "stale")
    assert store.get_dataset("fruit").spec == SPEC
    after = store.replace_dataset("fruit", changed, made.etag)
    assert after.spec == changed and after.etag != made.etag and after.updated >= made.updated
    assert after.created == made.created


def test_delete_is_conditional_on_the_etag(store: Store) -> None:
    made = store.insert_dataset("fruit", SPEC)
    with pytest.raises(EtagMismatch):
        store.delete_dataset("fruit", "stale")
    store.delete_dataset("fruit", made.etag)
    with pytest.raises(NotFound):
        store.get_dataset("fruit")


def test_pages_in_creation_order(store: Store) -> None:
    for k in range(7):
        store.insert_dataset(f"d{k}", SPEC)
    first = store.list_datasets(0, 3)
    assert [d.name for d in first.items] == ["d0", "d1", "d2"] and first.more
    last = store.list_datasets(6, 3)
    assert [d.name for d in last.items] == ["d6"] and not last.more
    assert store.list_datasets(7, 3).items == []
