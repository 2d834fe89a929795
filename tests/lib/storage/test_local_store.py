"""Object keys, and the local directory store that stands in for Vercel Blob outside deployments.

Every refusal is shown next to the same setup succeeding, so a check that stopped firing (or a
store that stopped writing anything) shows up as a failing positive case.
"""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest

from lib.storage import ObjectExists, ObjectNotFound, StorageError, StoredObject, check_key, content_type_for
from lib.storage.local_store import LocalDirectoryStore

ORG = str(uuid.uuid4())
PROOF = str(uuid.uuid4())
KEY = f"proofs/{ORG}/{PROOF}.jpg"
JPEG = b"\xff\xd8\xff\xe0 a receipt from Yape \xff\xd9"


def _hostile_keys() -> list[str]:
    u = str(uuid.UUID("12345678-1234-5678-9abc-def012345678"))
    return [
        "",
        "../../x.png",
        "/etc/passwd",
        "proofs/a/../b.png",
        f"proofs/{u}/../{u}.png",
        f"proofs/./{u}.png",
        f"./proofs/{u}/{u}.png",
        f"/proofs/{u}/{u}.png",
        f"proofs//{u}.png",
        f"proofs\\{u}\\{u}.png",
        f"proofs/{u}\\..\\{u}.png",
        f"proofs/{u}/{u}.png\x00",
        f"proofs/{u}/{u}\x00.png",
        f"proofs/{u}/{u}.png\n",
        f"proofs/{u}/{u}.png ",
        f"proofs/{u}/{u}.PNG",
        f"Proofs/{u}/{u}.png",
        f"proofs/{u.upper()}/{u}.png",
        f"proofs/{u.replace('-', '')}/{u}.png",
        f"proofs/{u}/{u}/{u}/{u}.png",
        f"proofs/{u}/{u}",
        f"proofs/{u}/{u}.jpeg",
        f"proofs/{u}/{u}.svg",
        f"proofs/{u}/{u}.html",
        f"proofs/{u}/{u}.png.html",
        f"proofs/{u}/{u}.jpg/",
        f"proofs/{u}/{u[:-1]}.png",
        f"proofs/{u}/{u}0.png",
        f"proofs/{u}/{u.replace('1', '١')}.png",  # an Arabic-Indic digit one
        f"proofs/{u}/{u.replace('-', '‐')}.png",  # a Unicode hyphen
        f"prüfs/{u}/{u}.png",
        f"pr oofs/{u}/{u}.png",
        f"-proofs/{u}/{u}.png",
        f"{'p' * 33}/{u}/{u}.png",
        f"{u}.png",
    ]


HOSTILE_KEYS = _hostile_keys()


@pytest.fixture
def store(tmp_path: Path) -> LocalDirectoryStore:
    return LocalDirectoryStore(tmp_path / "storage")


# --- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        f"proofs/{ORG}/{PROOF}.jpg",
        f"proofs/{ORG}/{PROOF}.png",
        f"proofs/{ORG}/{PROOF}.webp",
        f"proofs/{ORG}/{PROOF}.pdf",
        f"proofs/{PROOF}.pdf",
        f"screenshots/{ORG}/{PROOF}.png",
    ],
)
def test_server_generated_keys_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_anything_else_is_not_a_key(key: str) -> None:
    with pytest.raises(ValueError, match="object keys look like") as caught:
        check_key(key)
    if key:
        assert key not in str(caught.value)  # a hostile key is not echoed into logs


def test_a_key_must_be_a_string() -> None:
    with pytest.raises(ValueError, match="object keys"):
        check_key(KEY.encode())  # type: ignore[arg-type]


def test_each_extension_has_one_content_type() -> None:
    assert content_type_for(KEY) == "image/jpeg"
    assert content_type_for(f"screenshots/{ORG}/{PROOF}.png") == "image/png"
    assert content_type_for(f"proofs/{ORG}/{PROOF}.webp") == "image/webp"
    assert content_type_for(f"proofs/{ORG}/{PROOF}.pdf") == "application/pdf"


# --- the local store -----------------------------------------------------------------------------


def test_round_trip(store: LocalDirectoryStore) -> None:
    store.put(KEY, JPEG, "image/jpeg")
    assert store.get(KEY) == StoredObject(data=JPEG, content_type="image/jpeg")
    store.delete(KEY)
    with pytest.raises(ObjectNotFound):
        store.get(KEY)


def test_stored_object_repr_leaves_out_the_document() -> None:
    assert "receipt" not in repr(StoredObject(data=JPEG, content_type="image/jpeg"))


def test_files_are_under_the_root_and_private(store: LocalDirectoryStore, tmp_path: Path) -> None:
    store.put(KEY, JPEG, "image/jpeg")

    path = store.path_for(KEY)
    assert path == tmp_path / "storage" / "proofs" / ORG / f"{PROOF}.jpg"
    assert path.read_bytes() == JPEG
    sidecar = path.with_name(path.name + ".meta.json")
    assert json.loads(sidecar.read_text()) == {"content_type": "image/jpeg"}
    everything = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert everything == [
        Path("storage"),
        Path("storage/proofs"),
        Path(f"storage/proofs/{ORG}"),
        Path(f"storage/proofs/{ORG}/{PROOF}.jpg"),
        Path(f"storage/proofs/{ORG}/{PROOF}.jpg.meta.json"),
    ]  # no temporary file left behind
    for file in (path, sidecar):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    for directory in (tmp_path / "storage", path.parent.parent, path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_missing_key_is_not_found_and_deleting_it_is_fine(store: LocalDirectoryStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.get(KEY)
    store.delete(KEY)  # nothing there, not even the directory
    store.put(KEY, JPEG, "image/jpeg")
    store.delete(KEY)
    store.delete(KEY)  # twice
    assert not store.path_for(KEY).exists()
    with pytest.raises(ObjectNotFound):
        store.get(KEY)


def test_an_object_is_never_overwritten(store: LocalDirectoryStore) -> None:
    store.put(KEY, JPEG, "image/jpeg")
    with pytest.raises(ObjectExists):
        store.put(KEY, b"\xff\xd8 another receipt \xff\xd9", "image/jpeg")
    assert store.get(KEY).data == JPEG
    assert isinstance(ObjectExists("x"), StorageError)  # callers catching StorageError see it too


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_refused_and_nothing_is_written(key: str, tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "storage")
    for operation in (
        lambda: store.put(key, JPEG, "image/jpeg"),
        lambda: store.get(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(ValueError, match="object keys"):
            operation()
    assert list(tmp_path.rglob("*")) == [tmp_path / "storage"]
    store.put(KEY, JPEG, "image/jpeg")  # the same store takes a real key
    assert store.get(KEY).data == JPEG


def test_the_content_type_must_match_the_extension(store: LocalDirectoryStore) -> None:
    for content_type in ("image/png", "text/html", "image/jpeg; charset=utf-8", ""):
        with pytest.raises(ValueError, match="stored as image/jpeg"):
            store.put(KEY, JPEG, content_type)
    with pytest.raises(ValueError, match="non-empty bytes"):
        store.put(KEY, b"", "image/jpeg")
    assert not store.path_for(KEY).exists()
    store.put(KEY, JPEG, "image/jpeg")
    assert store.get(KEY).content_type == "image/jpeg"


def test_a_symlinked_directory_inside_the_root_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "storage"
    store = LocalDirectoryStore(root)
    (root / "proofs").symlink_to(outside, target_is_directory=True)

    with pytest.raises(StorageError, match="outside the store root"):
        store.put(KEY, JPEG, "image/jpeg")
    with pytest.raises(StorageError, match="outside the store root"):
        store.get(KEY)
    with pytest.raises(StorageError, match="outside the store root"):
        store.delete(KEY)
    assert [p.name for p in outside.rglob("*") if p.is_file()] == []

    (root / "proofs").unlink()
    store.put(KEY, JPEG, "image/jpeg")  # the plain directory works
    assert store.get(KEY).data == JPEG


def test_a_symlinked_object_file_is_not_read(store: LocalDirectoryStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"not yours")
    store.put(KEY, JPEG, "image/jpeg")
    other = f"proofs/{ORG}/{uuid.uuid4()}.jpg"
    store.put(other, JPEG, "image/jpeg")
    store.path_for(other).unlink()
    store.path_for(other).symlink_to(secret)

    with pytest.raises(StorageError) as caught:
        store.get(other)
    assert not isinstance(caught.value, ObjectNotFound)
    assert store.get(KEY).data == JPEG


def test_damaged_metadata_is_an_error_not_a_guess(store: LocalDirectoryStore) -> None:
    store.put(KEY, JPEG, "image/jpeg")
    sidecar = store.path_for(KEY).with_name(f"{PROOF}.jpg.meta.json")
    sidecar.write_text('{"content_type": "text/html"}')
    with pytest.raises(StorageError, match="metadata"):
        store.get(KEY)
    sidecar.unlink()
    with pytest.raises(StorageError, match="metadata"):
        store.get(KEY)
    sidecar.write_text('{"content_type": "image/jpeg"}')
    assert store.get(KEY).content_type == "image/jpeg"


def test_a_broken_directory_becomes_a_storage_error(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    store = LocalDirectoryStore(root)
    (root / "proofs").write_bytes(b"a file where a directory should be")
    with pytest.raises(StorageError, match="NotADirectoryError") as caught:
        store.put(KEY, JPEG, "image/jpeg")
    assert not isinstance(caught.value, ObjectExists | ObjectNotFound)
    assert str(root) not in str(caught.value)

    (root / "proofs").unlink()
    store.put(KEY, JPEG, "image/jpeg")
    assert store.get(KEY).data == JPEG
