"""Ingestion: find files, extract, chunk, embed and write them into the knowledge base.

A file that cannot be read is reported with one line (file and reason) and skipped;
the run goes on. Unchanged files (same bytes, same source) are not embedded again.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from search.kb import KnowledgeBase
from search.models import NewDocument

from .chunk import chunk_document
from .extract import SUPPORTED_SUFFIXES, ExtractionError, extract_bytes
from .metadata import infer_metadata, slugify


@dataclass
class FileResult:
    """Outcome for one file."""

    path: str
    status: str  # added | updated | unchanged | failed
    doc_id: str | None = None
    chunks: int = 0
    reason: str | None = None


@dataclass
class IngestReport:
    """Outcome of a run; ``ok`` is False when any file failed."""

    results: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many files ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[FileResult]:
        """The files that could not be ingested."""
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def summary(self) -> str:
        """One line: counts per outcome."""
        parts = [f"{self.count(s)} {s}" for s in ("added", "updated", "unchanged", "failed")]
        return f"{len(self.results)} files: " + ", ".join(parts)


IGNORE_FILE = ".kbignore"


def _ignore_patterns(folder: Path) -> list[str]:
    path = folder / IGNORE_FILE
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.startswith("#")]


def _ignored(rel: Path, patterns: list[str]) -> bool:
    """True if the path or one of its parent folders matches a ``.kbignore`` pattern."""
    parts = rel.parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))] + [rel.name]
    return any(fnmatch.fnmatch(c, p) for c in candidates for p in patterns)


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """Yield (file, source key) for each file to ingest.

    Folders are walked recursively; hidden entries, folders starting with ``_``
    (sources, build scripts), paths matching a pattern in the folder's ``.kbignore``
    (glob per line, e.g. ``eval/``) and files of unsupported types are skipped. A file
    named directly is always yielded, so an unsupported one gets a clear error. The
    source key is the path relative to the folder given, or the file name.
    """
    for path in paths:
        path = Path(path)
        if path.is_dir():
            patterns = _ignore_patterns(path)
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                if any(p.startswith((".", "_")) for p in rel.parts) or _ignored(rel, patterns):
                    continue
                if file.is_file() and file.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield file, rel.as_posix()
        else:
            yield path, path.name


def _preferred_id(source: str, doc: NewDocument) -> str:
    """A readable id from the front matter ``id`` or the file name (the knowledge base
    keeps the id of a known source and makes a taken one unique)."""
    return slugify(str(doc.doc_id or Path(source).stem)) or "dokument"


def build_document(
    data: bytes, filename: str, source: str, settings_chunk: tuple[int, int], max_bytes: int
) -> tuple[NewDocument, str]:
    """Extract, complete metadata and chunk one file; raises ExtractionError."""
    extracted = extract_bytes(data, filename, max_bytes=max_bytes)
    meta = infer_metadata(extracted, filename)
    max_chars, min_chars = settings_chunk
    chunks = chunk_document(
        extracted.text, extracted.pages, max_chars=max_chars, min_chars=min_chars
    )
    if not chunks:
        raise ExtractionError("no text found")
    topics = meta.get("topics") or []
    doc = NewDocument(
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        text=extracted.text,
        chunks=chunks,
        title=meta.get("title") or Path(filename).stem,
        date=meta.get("date"),
        event=meta.get("event"),
        location=meta.get("location"),
        organiser=meta.get("organiser"),
        topics=[str(t) for t in topics],
        language=meta.get("language"),
        source_url=meta.get("source_url"),
        pages=len(extracted.pages) if extracted.pages is not None else None,
        doc_id=meta.get("id"),
    )
    return doc, extracted.format


def ingest_file(kb: KnowledgeBase, path: Path, source: str, *, force: bool = False) -> FileResult:
    """Ingest one file; never raises for bad input, reports it instead."""
    shown = str(path)
    try:
        if not path.is_file():
            return FileResult(shown, "failed", reason="not a file or does not exist")
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            kinds = ", ".join(SUPPORTED_SUFFIXES)
            return FileResult(shown, "failed", reason=f"unsupported file type (supported: {kinds})")
        size = path.stat().st_size
        if size > kb.settings.max_file_bytes:
            return FileResult(
                shown,
                "failed",
                reason=f"file too large ({size / 2**20:.1f} MB, limit "
                f"{kb.settings.max_file_bytes / 2**20:.0f} MB)",
            )
        data = path.read_bytes()
    except OSError as exc:
        return FileResult(shown, "failed", reason=f"cannot read file: {exc.strerror or exc}")
    return ingest_bytes(kb, data, path.name, source, shown=shown, force=force)


def ingest_bytes(
    kb: KnowledgeBase,
    data: bytes,
    filename: str,
    source: str,
    *,
    shown: str | None = None,
    force: bool = False,
) -> FileResult:
    """Ingest the bytes of one file under a source key (also used for uploads)."""
    shown = shown or filename
    sha = hashlib.sha256(data).hexdigest()
    state = kb.source_state(source)
    if state is not None and state[1] == sha and not force:
        return FileResult(shown, "unchanged", doc_id=state[0])
    try:
        doc, fmt = build_document(
            data,
            filename,
            source,
            (kb.settings.chunk_max_chars, kb.settings.chunk_min_chars),
            kb.settings.max_file_bytes,
        )
    except ExtractionError as exc:
        return FileResult(shown, "failed", reason=str(exc))
    written = kb.add_document(_preferred_id(source, doc), doc, fmt=fmt)
    return FileResult(shown, written.status, doc_id=written.doc_id, chunks=len(doc.chunks))


def ingest_paths(
    kb: KnowledgeBase,
    paths: Iterable[Path],
    *,
    force: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
) -> IngestReport:
    """Ingest every file under ``paths``; ``on_file`` sees each result as it comes."""
    return ingest_files(kb, iter_files(paths), force=force, on_file=on_file)


def ingest_files(
    kb: KnowledgeBase,
    files: Iterable[tuple[Path, str]],
    *,
    force: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
) -> IngestReport:
    """Ingest (file, source key) pairs as ``iter_files`` yields them."""
    report = IngestReport()
    with kb.bulk():
        for path, source in files:
            result = ingest_file(kb, path, source, force=force)
            report.results.append(result)
            if on_file is not None:
                on_file(result)
    return report
