"""Atomic file replacement: readers see the old file or the whole new one, never a partial write.

Used for replay samples, capture manifests, result.json and the promotion state. The temp file
lives beside the target because ``os.replace`` is only atomic within one file system, and it is
fsynced before the rename so the new name never points at data still in flight.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself; best effort, as some platforms cannot open a folder."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write into a fresh file beside ``target`` with ``write``, then replace ``target`` by it.

    The temp file is opened normally (not via mkstemp) so the result keeps the usual umask
    permissions; on any failure it is removed and ``target`` is untouched.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("xb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def atomic_write_text(target: Path, text: str) -> None:
    """``atomic_write`` of UTF-8 text."""
    atomic_write(target, lambda handle: handle.write(text.encode("utf-8")))
