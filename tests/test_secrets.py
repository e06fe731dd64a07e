"""tailor.secrets on its own: sealing and opening with several keys, the key of the embedded default kept like the
training key, and the settings that cannot work refused with a message naming TAILOR_SECRET_KEY."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tailor.errors import SecretUnreadable
from tailor.secrets import KEY_FILE, SecretBox, SecretKeyError, keep_generated, resolve_secret_box
from tailor.settings import Settings

A, B = SecretBox.new_key(), SecretBox.new_key()
TOKEN = "sv=2024-05-04&ss=b&srt=co&sp=rl&se=2030-01-01&sig=abc%2Bdef%3D"


def test_a_sealed_token_opens_with_any_key_and_is_sealed_with_the_first() -> None:
    sealed = SecretBox([A]).seal(TOKEN)
    assert sealed.startswith("fernet:") and TOKEN not in sealed
    assert SecretBox([B, A]).open(sealed, "dataset 'x'") == TOKEN
    resealed = SecretBox([B, A]).reseal(sealed, "dataset 'x'")
    assert SecretBox([B]).open(resealed, "dataset 'x'") == TOKEN  # only the new key needed now
    with pytest.raises(SecretUnreadable, match="dataset 'x'.*TAILOR_SECRET_KEY"):
        SecretBox([A]).open(resealed, "dataset 'x'")


def test_sealing_twice_gives_two_values_and_a_plain_value_reads_as_it_is() -> None:
    box = SecretBox([A])
    assert box.seal(TOKEN) != box.seal(TOKEN)  # a fresh IV each time: equal tokens do not look equal in the table
    assert box.open(TOKEN, "dataset 'x'") == TOKEN  # stored before revision 0003
    assert box.reseal(TOKEN, "dataset 'x'").startswith("fernet:")


def test_an_altered_value_is_refused_not_decrypted_to_garbage() -> None:
    sealed = SecretBox([A]).seal(TOKEN)
    altered = sealed[:-10] + ("A" if sealed[-10] != "A" else "B") + sealed[-9:]
    with pytest.raises(SecretUnreadable):
        SecretBox([A]).open(altered, "dataset 'x'")


def test_a_box_without_keys_reads_plain_values_only_and_seals_nothing() -> None:
    box = SecretBox([])
    assert box.open(TOKEN, "dataset 'x'") == TOKEN
    with pytest.raises(SecretKeyError, match="TAILOR_SECRET_KEY"):
        box.seal(TOKEN)
    with pytest.raises(SecretUnreadable, match="no TAILOR_SECRET_KEY"):
        box.open(SecretBox([A]).seal(TOKEN), "dataset 'x'")


def test_the_keys_never_show_in_a_repr() -> None:
    assert repr(SecretBox([A, B])) == "SecretBox(2 keys)"
    assert A not in repr(resolve_secret_box(Settings(secret_key=A))) and A not in repr(Settings(secret_key=A))


def test_configured_keys_are_split_and_a_malformed_one_is_named(tmp_path: Path) -> None:
    box = resolve_secret_box(Settings(data_dir=tmp_path, secret_key=f" {B} , {A} "))
    assert box.key_count == 2 and box.generated_at is None
    assert box.open(SecretBox([A]).seal(TOKEN), "dataset 'x'") == TOKEN
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(SecretKeyError, match="TAILOR_SECRET_KEY: key 2 of 2 is not a Fernet key.*new-key"):
        resolve_secret_box(Settings(data_dir=tmp_path, secret_key=f"{A},not-a-key"))


def test_the_embedded_default_generates_one_key_once_and_keeps_it_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = resolve_secret_box(settings)
    assert first.generated_at == tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(os.stat(first.generated_at).st_mode) == 0o600
    sealed = first.seal(TOKEN)
    assert resolve_secret_box(settings).open(sealed, "dataset 'x'") == TOKEN  # a restart keeps the key
    assert [p.name for p in first.generated_at.parent.iterdir()] == [KEY_FILE]  # no temporary file left behind


def test_processes_starting_together_keep_one_key(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEY_FILE
    barrier = threading.Barrier(8)
    found: list[str] = []

    def start() -> None:
        barrier.wait()
        found.append(keep_generated(path, SecretBox.new_key))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1 and found[0] == path.read_text().strip()


@pytest.mark.parametrize("url", ["postgresql://tailor@db:5432/tailor", "postgresql+psycopg://db/tailor"])
def test_a_shared_database_without_a_key_is_refused_naming_the_setting(tmp_path: Path, url: str) -> None:
    with pytest.raises(SecretKeyError, match="TAILOR_SECRET_KEY is not set.*TAILOR_DATABASE_URL.*new-key"):
        resolve_secret_box(Settings(data_dir=tmp_path, database_url=url))
    with pytest.raises(SecretKeyError):
        resolve_secret_box(Settings(data_dir=tmp_path, database_url=url, secret_key=" , "))
    assert not (tmp_path / KEY_FILE).exists()
    assert resolve_secret_box(Settings(data_dir=tmp_path, database_url=url, secret_key=A)).key_count == 1
