"""Original files, kept content-addressed in the index folder.

``originals/ab/abcdef…`` holds the bytes whose SHA-256 is ``abcdef…``: a name no request
chooses, so nothing a client sends reaches a path. The folder sits beside the stores, so
a reindex keeps it. A file is written (atomically) before the document that names it is
committed; a crash in between leaves a file no document names, which ``sweep`` removes
at the end of the next batch of writes once it is old enough not to be another writer's
file on its way to a commit.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

from .ann import write_atomic

FOLDER = "originals"
_SHA = re.compile(r"^[0-9a-f]{64}$")


def path(index: Path, sha256: str) -> Path:
    """Where the original with this digest lives (ValueError for anything but a digest)."""
    if not _SHA.match(sha256):
        raise ValueError("not a SHA-256 digest")
    return Path(index) / FOLDER / sha256[:2] / sha256


def keep(index: Path, data: bytes) -> str:
    """Store ``data`` (once per content); returns its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    target = path(index, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
    return sha


def drop(index: Path, sha256: str) -> None:
    """Delete an original (the caller checked that no document names it)."""
    try:
        path(index, sha256).unlink(missing_ok=True)
    except ValueError:
        pass


#: an unreferenced original younger than this may belong to a write not yet committed
SWEEP_AFTER_SECONDS = 600


def sweep(index: Path, referenced: set[str], now: float | None = None) -> list[str]:
    """Delete originals no document names (left by a crash); returns their digests."""
    now = time.time() if now is None else now
    gone = []
    for path in (Path(index) / FOLDER).glob("??/*"):
        if not _SHA.match(path.name) or path.name in referenced:
            continue
        try:
            if now - path.stat().st_mtime >= SWEEP_AFTER_SECONDS:
                path.unlink()
                gone.append(path.name)
        except OSError:
            continue  # removed meanwhile
    return gone
