"""Files on disk: the one atomic writer, text reading, writability checks and folder walks.

Every file the library writes goes through :func:`atomic_path` (or :func:`atomic_write_text`):
the data lands in a hidden temporary file of the same folder (``.<name>.<random>.tmp``) that is
renamed into place when complete, so a reader or a re-run never sees half a file. A temporary
file left by a killed process matches :data:`TEMP_PATTERN` and is removed by
:func:`remove_stale_temp_files`. Errors of the file system become one-line
:class:`~diarize.errors.DiarizeError` messages naming the path.

This module imports nothing of the package but ``errors``, so every layer may use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from diarize.errors import DiarizeError

TEMP_PATTERN = ".*.tmp"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through; rename it into place on success.

    The parent folder is created. On any exception (KeyboardInterrupt too) the temporary file
    is removed and ``path`` is left as it was.

        >>> with atomic_path("model.pt") as tmp:
        ...     torch.save(state, tmp)

    Raises:
        DiarizeError: the folder cannot be created or written, or the rename fails.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise DiarizeError(f"{path}: is a folder, expected a file path")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
    except OSError as error:
        raise DiarizeError(f"{path}: cannot write ({_reason(error)})") from None
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        raise DiarizeError(f"{path}: cannot write ({_reason(error)})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_text(path: str | Path, what: str = "file") -> str:
    """The text of a UTF-8 file, a leading byte-order mark removed (editors on Windows add one).

    Raises:
        DiarizeError: missing, unreadable or not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise DiarizeError(f"{path}: no such {what}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DiarizeError(f"{path}: cannot read ({_reason(error)})") from None


def check_writable_file(path: str | Path) -> Path:
    """Fail now, before long work, when ``path`` could not be written later.

    Creates the parent folder and probes it with a temporary file (``os.access`` is not enough:
    it says yes to root on a read-only mount).

    Raises:
        DiarizeError: ``path`` is a folder, lies below a file, or its folder is not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise DiarizeError(f"{path}: is a folder, expected a file path")
    check_writable_dir(path.parent)
    return path


def check_writable_dir(folder: str | Path) -> Path:
    """Create ``folder`` if needed and make sure files can be created in it.

    Raises:
        DiarizeError: it is a file, lies below a file, or is not writable.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DiarizeError(f"{folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, prefix=".write-probe.", suffix=".tmp")
        os.close(handle)
        os.unlink(name)
    except OSError as error:
        raise DiarizeError(f"{folder}: cannot write there ({_reason(error)})") from None
    return folder


def remove_stale_temp_files(folder: str | Path) -> int:
    """Remove the temporary files that killed writers left in ``folder``; return how many.

    Only call it when no other process writes into ``folder``.
    """
    removed = 0
    for path in Path(folder).glob(TEMP_PATTERN):
        if path.is_file():
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed


def walk_files(folder: str | Path, wanted: Callable[[Path], bool]) -> list[Path]:
    """Files under ``folder`` (recursively, following symlinked folders) for which ``wanted``
    is true, sorted by path. Hidden files (``.name``, e.g. partial writes) are skipped, and a
    folder reached twice through links (a loop) is searched once.
    """
    found = []
    seen: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        try:
            stat = os.stat(root)
        except OSError:
            dirs[:] = []
            continue
        key = (stat.st_dev, stat.st_ino)
        if key in seen:
            dirs[:] = []
            continue
        seen.add(key)
        dirs.sort()
        for name in files:
            path = Path(root) / name
            if not name.startswith(".") and path.is_file() and wanted(path):
                found.append(path)
    return sorted(found)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
