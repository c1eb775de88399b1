"""The index manifest: which store folder is active and what built it.

``manifest.json`` at the top of an index folder names the active store folder (SQLite
file and vector snapshots), the embedder and its dimension, the lexical analyzer's
version, the vector index backend and the manifest format. It is replaced atomically,
so switching the active store (``kb reindex``) is one rename that every process sees.
Reading it is cheap, so the embedder and analyzer are checked before a model loads.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .ann import write_atomic
from .errors import AnalyzerMismatch, EmbedderMismatch, IndexFormatError

MANIFEST_FILE = "manifest.json"

#: format 1: the store lay in the index folder itself; format 2: a store folder
FORMAT = 2


@dataclass(frozen=True)
class Manifest:
    """What an index folder holds; ``store`` is the active store folder's name."""

    embedder: str
    dim: int
    analyzer: str
    vector_index: str
    store: str
    format: int = FORMAT


@dataclass(frozen=True)
class Stamp:
    """Identity of the manifest file as a reader last saw it; a change means re-read."""

    inode: int
    mtime_ns: int
    size: int


def stamp(folder: Path) -> Stamp | None:
    """The manifest's stamp, or None when there is none (cheap: one ``stat``)."""
    try:
        st = os.stat(Path(folder) / MANIFEST_FILE)
    except FileNotFoundError:
        return None
    return Stamp(st.st_ino, st.st_mtime_ns, st.st_size)


def read(folder: Path) -> Manifest | None:
    """The manifest of an index folder, or None if the folder holds no index."""
    path = Path(folder) / MANIFEST_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"cannot read {path}: {exc}") from exc
    version = int(data.get("format", 1))
    if version > FORMAT:
        raise IndexFormatError(
            f"index {folder} was written by a newer version of this program (manifest "
            f"format {version}, this one reads {FORMAT}); upgrade the program"
        )
    return Manifest(
        embedder=data["embedder"],
        dim=int(data["dim"]),
        # indexes from before the analyzer was recorded used its first version
        analyzer=data.get("analyzer", "de-1"),
        vector_index=data.get("vector_index", "flat"),
        # format 1 kept the store in the index folder itself
        store=data.get("store", "."),
        format=FORMAT,
    )


def write(folder: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (the caller holds the write lock)."""
    write_atomic(Path(folder) / MANIFEST_FILE, json.dumps(asdict(manifest), indent=2).encode())


def check(folder: Path, manifest: Manifest, embedder: str, analyzer: str) -> None:
    """EmbedderMismatch or AnalyzerMismatch, naming the command that rebuilds the index."""
    if manifest.embedder != embedder:
        raise EmbedderMismatch(
            f"index {folder} was built with embedder {manifest.embedder!r} "
            f"({manifest.dim}-d) but {embedder!r} is configured; configure "
            f"KB_EMBEDDER={manifest.embedder} or re-embed everything with "
            f"'kb reindex --index {folder} --embedder {embedder}'"
        )
    if manifest.analyzer != analyzer:
        raise AnalyzerMismatch(
            f"index {folder} was built with lexical analyzer {manifest.analyzer!r}, this "
            f"program uses {analyzer!r}; rebuild it with 'kb reindex --index {folder}'"
        )
