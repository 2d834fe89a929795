"""Local development and tests without a Blob token: each object is a file under one root.

Layout: the key is the path under the root (`proofs/<uuid>/<uuid>.jpg`), and next to each object
a sidecar `<name>.meta.json` holds `{"content_type": "..."}`. Directories are created 0700 and
files 0600: they hold customers' documents.

Writes are whole or absent: the data and the sidecar are written to temporary files (`.partial-*`,
which no key can name) in the object's directory; the sidecar is renamed into place, then the data
is hard-linked to its final name, which fails if the name is taken, so an object is never
overwritten, not even by a concurrent `put` of the same key. The data file appears last and goes
first on delete, so whoever sees it also finds its sidecar.

Nothing outside the root is ever touched: keys pass `check_key` (no `..`, no absolute paths), the
object's directory must resolve to exactly root/<namespace>/<uuid>... (a symlink planted on the
way is refused), and files are opened with O_NOFOLLOW.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from pathlib import Path

from lib.storage.objects import (
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StoredObject,
    check_key,
    check_put,
    content_type_for,
)

_META_SUFFIX = ".meta.json"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _failure(exc: OSError) -> StorageError:
    code = errno.errorcode.get(exc.errno or 0, "unknown")
    return StorageError(f"local object store failed ({type(exc).__name__}, {code})")


class LocalDirectoryStore:
    def __init__(self, root: Path | str) -> None:
        root = Path(root)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root = root.resolve(strict=True)

    def __repr__(self) -> str:
        return f"LocalDirectoryStore({str(self.root)!r})"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        check_put(key, data, content_type)
        try:
            directory, name = self._locate(key)
            self._make_directories(directory)
            path = directory / name
            if os.path.lexists(path):
                raise ObjectExists("an object already exists under this key")
            meta = json.dumps({"content_type": content_type}).encode()
            data_temporary = self._write_temporary(directory, data)
            try:
                meta_temporary = self._write_temporary(directory, meta)
                try:
                    os.replace(meta_temporary, directory / (name + _META_SUFFIX))
                except BaseException:
                    Path(meta_temporary).unlink(missing_ok=True)
                    raise
                try:
                    os.link(data_temporary, path)
                except FileExistsError:
                    # A concurrent put won; its sidecar names the same type (one per extension).
                    raise ObjectExists("an object already exists under this key") from None
            finally:
                Path(data_temporary).unlink(missing_ok=True)
        except OSError as exc:
            raise _failure(exc) from None

    def get(self, key: str) -> StoredObject:
        check_key(key)
        try:
            directory, name = self._locate(key)
            if not self._existing(directory):
                raise ObjectNotFound("no object under this key")
            data = self._read(directory / name)
            if data is None:
                raise ObjectNotFound("no object under this key")
            meta = self._read(directory / (name + _META_SUFFIX))
        except OSError as exc:
            raise _failure(exc) from None
        content_type = _content_type(meta)
        if content_type != content_type_for(key):
            raise StorageError("local object metadata is missing or damaged")
        return StoredObject(data=data, content_type=content_type)

    def delete(self, key: str) -> None:
        check_key(key)
        try:
            directory, name = self._locate(key)
            if not self._existing(directory):
                return
            (directory / name).unlink(missing_ok=True)
            (directory / (name + _META_SUFFIX)).unlink(missing_ok=True)
        except OSError as exc:
            raise _failure(exc) from None

    def path_for(self, key: str) -> Path:
        """Where the object under `key` is (or would be) stored: for tests and local tooling."""
        return self.root.joinpath(*check_key(key).split("/"))

    def _locate(self, key: str) -> tuple[Path, str]:
        """The object's directory (lexically under the root: keys have no `..`) and file name."""
        *parts, name = check_key(key).split("/")
        return self.root.joinpath(*parts), name

    def _make_directories(self, directory: Path) -> None:
        current = self.root
        for part in directory.relative_to(self.root).parts:
            current = current / part
            with contextlib.suppress(FileExistsError):
                current.mkdir(mode=0o700)
        self._check_plain(directory)

    def _existing(self, directory: Path) -> bool:
        if not directory.exists():
            return False
        self._check_plain(directory)
        return True

    @staticmethod
    def _check_plain(directory: Path) -> None:
        """A symlink anywhere between the root and the object would lead elsewhere."""
        if directory.resolve(strict=True) != directory:
            raise StorageError("an object path leads outside the store root")

    @staticmethod
    def _write_temporary(directory: Path, data: bytes) -> str:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".partial-")  # created 0600
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return temporary

    @staticmethod
    def _read(path: Path) -> bytes | None:
        """The regular file's bytes, None if there is no file; a symlink is refused."""
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise StorageError("an object path is not a regular file")
            return file.read()


def _content_type(meta: bytes | None) -> str | None:
    if meta is None:
        return None
    try:
        parsed = json.loads(meta)
    except ValueError:
        return None
    value = parsed.get("content_type") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None
