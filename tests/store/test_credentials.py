"""Credentials at rest in the store, on SQLite and PostgreSQL alike: the table holds SAS tokens (and SAS URLs) only
encrypted, a Dataset holds them plain, a wrong key is an error naming the dataset, and resealing moves every token to
the first key without overwriting a change made meanwhile."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import event, select

from tailor.blobs import Access, AuthKind
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.errors import SecretUnreadable
from tailor.secrets import SecretBox, SecretKeyError
from tailor.store import Store
from tailor.store._datasets import Resealed
from tailor.store._tables import DatasetRow

A, B, C = SecretBox.new_key(), SecretBox.new_key(), SecretBox.new_key()
TOKEN = "sv=2024-05-04&sr=c&sp=rl&sig=SECRET%2Bone"
SIGNED = "https://acct.blob.core.windows.net/c/b.json?sv=2024&sig=SECRET-two"
PLAIN_URI = "https://acct.blob.core.windows.net/c/a.json"
WITH_TOKEN = DatasetSpec(AnnotationKind.CLASSIFICATION, (PLAIN_URI,), {}, Access(AuthKind.SAS, TOKEN))
WITH_SIGNED_URI = DatasetSpec(AnnotationKind.CLASSIFICATION, (SIGNED, PLAIN_URI), {}, Access())
WITHOUT = DatasetSpec(AnnotationKind.CLASSIFICATION, (PLAIN_URI,), {}, Access(AuthKind.MANAGED_IDENTITY))


def connect(url: str, *keys: str) -> Store:
    return Store.connect(url, SecretBox(keys))


def raw(store: Store, name: str) -> tuple[str | None, list[str]]:
    with store.engine.connect() as connection:
        row = connection.execute(
            select(DatasetRow.sas_token, DatasetRow.annotation_file_uris).where(DatasetRow.name == name)
        ).one()
    return row.sas_token, row.annotation_file_uris


@pytest.fixture
def store(database_url: str):
    store = connect(database_url, A)
    yield store
    store.close()


def test_the_table_holds_credentials_only_encrypted_and_a_dataset_plain(store: Store) -> None:
    assert store.datasets.insert("token", WITH_TOKEN).spec == WITH_TOKEN
    store.datasets.insert("signed", WITH_SIGNED_URI)
    store.datasets.insert("without", WITHOUT)
    token, uris = raw(store, "token")
    assert token.startswith("fernet:") and "SECRET" not in token and uris == [PLAIN_URI]
    token, uris = raw(store, "signed")
    assert token is None and uris[0].startswith("fernet:") and "SECRET" not in uris[0] and uris[1] == PLAIN_URI
    assert raw(store, "without") == (None, [PLAIN_URI])
    assert [d.spec for d in store.datasets.list(0, 10).items] == [WITH_TOKEN, WITH_SIGNED_URI, WITHOUT]

    changed = replace(WITH_TOKEN, access=Access(AuthKind.SAS, "sv=2025&sig=SECRET-three"))
    assert store.datasets.replace("token", changed, None).spec == changed
    assert "SECRET" not in raw(store, "token")[0] and store.datasets.get("token").spec == changed


def test_a_store_without_a_key_keeps_no_token(database_url: str) -> None:
    store = Store.connect(database_url)
    try:
        with pytest.raises(SecretKeyError, match="TAILOR_SECRET_KEY"):
            store.datasets.insert("token", WITH_TOKEN)
        assert store.datasets.count() == 0
        assert store.datasets.insert("without", WITHOUT).spec == WITHOUT
    finally:
        store.close()


def test_a_wrong_key_is_an_error_naming_the_dataset_and_the_setting(store: Store, database_url: str) -> None:
    store.datasets.insert("fruit", WITH_TOKEN)
    other = connect(database_url, B)
    try:
        with pytest.raises(SecretUnreadable, match="dataset 'fruit'.*TAILOR_SECRET_KEY"):
            other.datasets.get("fruit")
        with pytest.raises(SecretKeyError, match="TAILOR_SECRET_KEY does not open.*'fruit'"):
            other.datasets.check_secrets()
        other.datasets.delete("fruit", None)  # what needs no token still works
    finally:
        other.close()
    store.datasets.check_secrets()  # nothing left to open: any key will do


def test_the_start_check_passes_with_the_key_of_the_newest_token(store: Store, database_url: str) -> None:
    store.datasets.insert("old", WITH_TOKEN)
    store.datasets.check_secrets()
    newer = connect(database_url, B, A)
    try:
        newer.datasets.insert("new", WITH_TOKEN)
    finally:
        newer.close()
    only_b = connect(database_url, B)
    try:
        only_b.datasets.check_secrets()  # the newest opens; "old" still needs A, which `rotate` would report
        with pytest.raises(SecretUnreadable, match="'old'"):
            only_b.datasets.get("old")
    finally:
        only_b.close()


def test_reseal_moves_every_credential_to_the_first_key(store: Store, database_url: str) -> None:
    for name, spec in [("token", WITH_TOKEN), ("signed", WITH_SIGNED_URI), ("without", WITHOUT)]:
        store.datasets.insert(name, spec)
    etags = {d.name: d.etag for d in store.datasets.list(0, 10).items}
    stranger = connect(database_url, C)
    stranger.datasets.insert("lost", WITH_TOKEN)  # sealed with a key the rotation is not given
    stranger.close()

    rotating = connect(database_url, B, A)
    try:
        assert rotating.datasets.reseal() == Resealed(datasets=2, unreadable=["lost"])
    finally:
        rotating.close()
    only_b = connect(database_url, B)
    try:
        assert only_b.datasets.get("token").spec == WITH_TOKEN
        assert only_b.datasets.get("signed").spec == WITH_SIGNED_URI
        assert only_b.datasets.get("without").spec == WITHOUT
        assert {name: only_b.datasets.get(name).etag for name in etags} == etags  # the datasets did not change
    finally:
        only_b.close()


def test_a_dataset_changed_while_it_is_resealed_keeps_its_newer_token(store: Store, database_url: str) -> None:
    store.datasets.insert("fruit", WITH_TOKEN)
    newer = replace(WITH_TOKEN, access=Access(AuthKind.SAS, "sv=2025&sig=NEWER"))
    rotating = connect(database_url, B, A)
    writer = connect(database_url, B, A)
    written: list[bool] = []

    @event.listens_for(rotating.engine, "before_cursor_execute")
    def change_first(_conn, _cursor, statement: str, *_args) -> None:
        # Between resealing's read and its write: another process replaces the token.
        if statement.lstrip().upper().startswith("UPDATE DATASETS") and not written:
            written.append(True)
            writer.datasets.replace("fruit", newer, None)

    try:
        assert rotating.datasets.reseal() == Resealed(datasets=1, unreadable=[])
        assert written == [True]
    finally:
        rotating.close()
        writer.close()
    only_b = connect(database_url, B)
    try:
        assert only_b.datasets.get("fruit").spec == newer
    finally:
        only_b.close()
