"""Ingestion: find files, extract, chunk, embed and write them into the knowledge base.

Every file is its own failure domain: a file that cannot be read, or that trips an
unexpected error, is reported with one line (file and reason) and skipped; the run
goes on. Unchanged files (same bytes, same source) are not embedded again.

Source keys (``NewDocument.source``) identify where a document came from, so that
re-ingesting updates it instead of adding a copy: ``<name of the folder given>/<path
relative to it>`` for a file found in a folder and ``<parent folder name>/<file name>``
for a file given directly (``kb ingest corpus`` and ``kb ingest corpus/x.md`` agree).
Indexes written before this scheme used the path relative to the folder given (or
the bare file name); when a file's key is unknown but its old key is, that document
is reused (same id) and moves to the new key.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import os
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from search.errors import KBError
from search.kb import Incoming, KnowledgeBase
from search.models import NewDocument, Written

from .chunk import chunk_document
from .errors import ExtractionError
from .formats import SUPPORTED_SUFFIXES, Limits, extract_bytes, read_file
from .metadata import infer_metadata, slugify

#: outcomes of one file, in the order the summary lists them
STATUSES = ("added", "updated", "unchanged", "duplicate", "skipped", "failed")


@dataclass
class FileResult:
    """Outcome for one file (or a folder or link the walk could not use)."""

    path: str  # for display: UTF-8, undecodable bytes of a name shown as \\xNN
    status: str  # one of STATUSES
    doc_id: str | None = None
    chunks: int = 0
    reason: str | None = None  # English
    code: str | None = None  # ExtractionError.code of a failed or skipped file
    german: str | None = None  # the reason in German
    duplicate_of: str | None = None  # a "duplicate": the report with the same file
    near_duplicates: list[str] = field(default_factory=list)  # reports with almost this text

    @classmethod
    def problem(cls, path: str, error: ExtractionError) -> FileResult:
        """A failed file (a skipped one for links that leave the folder)."""
        status = "skipped" if error.code == "link_outside" else "failed"
        return cls(path, status, reason=str(error), code=error.code, german=error.german)


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
        parts = [f"{self.count(s)} {s}" for s in STATUSES]
        return f"{len(self.results)} files: " + ", ".join(parts)


# --------------------------------------------------------------------------- finding files

IGNORE_FILE = ".kbignore"


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as valid UTF-8 text: bytes of a name that are not UTF-8 appear as ``\\xNN``.

    Used for messages and source keys (SQLite and terminals need valid UTF-8); the
    mapping is one to one, so two different names never share a key.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest, or a problem the walk found (then ``problem`` is set)."""

    path: Path
    source: str  # source key, see the module docstring
    legacy_source: str | None = None  # key of indexes written before the current scheme
    problem: ExtractionError | None = None


def _ignore_patterns(folder: Path) -> list[str]:
    path = folder / IGNORE_FILE
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.startswith("#")]


def _ignored(rel: str, name: str | None, patterns: list[str]) -> bool:
    """True if the relative path (or, for a file, its ``name``) matches a pattern.

    Parent folders need no check here: a matching folder is never entered.
    """
    candidates = [rel] if name is None else [rel, name]
    return any(fnmatch.fnmatch(c, p) for c in candidates for p in patterns)


def _key(*parts: str) -> str:
    return display_path("/".join(part for part in parts if part))


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[SourceFile]:
    """Yield a :class:`SourceFile` for each file to ingest and each problem found.

    Folders are walked (iteratively: any depth) in sorted order; hidden entries,
    entries starting with ``_`` (sources, build scripts), paths matching a pattern of
    the folder's ``.kbignore`` (glob per line, e.g. ``eval/``) and files of unsupported
    types are skipped. A symbolic link is followed only if it leads to a file inside
    the folder; a link leaving the folder is reported (and not followed), a link to
    a folder inside is not entered (that folder is walked itself). A folder that
    cannot be read is reported. A file named directly is always yielded, so an
    unsupported or missing one gets a clear error.
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from _walk(path)
        else:
            absolute = Path(os.path.abspath(path))
            yield SourceFile(path, _key(absolute.parent.name, path.name), display_path(path.name))


def _walk(root: Path) -> Iterator[SourceFile]:
    root_name = Path(os.path.abspath(root)).name
    real_root = os.path.realpath(root)
    try:
        patterns = _ignore_patterns(root)
    except OSError as exc:  # without its ignore list the folder would be ingested wrongly
        yield SourceFile(root / IGNORE_FILE, "", problem=_unreadable("file", exc))
        return
    # A stack of sorted folder listings instead of recursion: depth costs no stack frames.
    # The order is that of sorting all paths: a folder's entries come before its next sibling.
    stack: list[tuple[Iterator[os.DirEntry[str]], tuple[str, ...]]] = []
    listing = _list_folder(root)
    if isinstance(listing, ExtractionError):
        yield SourceFile(root, "", problem=listing)
        return
    stack.append((iter(listing), ()))
    while stack:
        entries, parent = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith((".", "_")):
            continue
        rel_parts = (*parent, entry.name)
        rel = "/".join(rel_parts)
        path = Path(entry.path)
        try:  # entries can fail to stat (vanished, permissions): one line, not the run
            is_link = entry.is_symlink()
            if is_link and not _inside(os.path.realpath(path), real_root):
                if entry.is_dir() or _supported(entry.name):
                    target = display_path(os.path.realpath(path))
                    yield SourceFile(path, "", problem=_link_outside(target))
                continue
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as exc:
            yield SourceFile(path, "", problem=_unreadable("file", exc))
            continue
        if is_dir:
            if is_link or _ignored(rel, None, patterns):
                continue
            listing = _list_folder(path)
            if isinstance(listing, ExtractionError):
                yield SourceFile(path, "", problem=listing)
            else:
                stack.append((iter(listing), rel_parts))
        elif is_file and _supported(entry.name) and not _ignored(rel, entry.name, patterns):
            yield SourceFile(path, _key(root_name, rel), display_path(rel))


def _supported(name: str) -> bool:
    return PurePath(name).suffix.lower() in SUPPORTED_SUFFIXES


def _list_folder(folder: Path) -> list[os.DirEntry[str]] | ExtractionError:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError as exc:
        return _unreadable("folder", exc)


def _inside(target: str, real_root: str) -> bool:
    return os.path.commonpath([real_root, target]) == real_root


def _unreadable(kind: str, exc: OSError) -> ExtractionError:
    kind_de = {"folder": "Ordner", "file": "Datei"}[kind]
    if isinstance(exc, PermissionError):
        reason, reason_de = "permission denied", "keine Berechtigung"
    else:
        reason = reason_de = exc.strerror or type(exc).__name__
    return ExtractionError(
        "unreadable", f"cannot read {kind} ({reason})", f"{kind_de} nicht lesbar ({reason_de})"
    )


def _link_outside(target: str) -> ExtractionError:
    return ExtractionError(
        "link_outside",
        f"symbolic link leads outside the folder (to {target}); not followed",
        f"symbolische Verknüpfung führt aus dem Ordner hinaus (nach {target}); nicht gefolgt",
    )


# --------------------------------------------------------------------------- uploads

#: source keys of uploaded files: ``upload:<safe file name>``. Keys of files from folders
#: are ``<folder>/<path>`` and always hold a ``/``; a safe name never does, so no folder
#: (not even one named ``upload``) shares a key with an upload, and ``--prune`` of a
#: folder never removes one.
UPLOAD_PREFIX = "upload:"
#: longest display name of an uploaded file (suffix included)
MAX_NAME_CHARS = 120
_MAX_SUFFIX_CHARS = 16


def safe_filename(name: str) -> str:
    """The display name of a file a client named: never a path, always printable.

    Only the last component of the name counts (``../../etc/passwd.pdf`` is
    ``passwd.pdf``; backslashes separate too); control, format and unassigned
    characters (NUL, zero-width spaces, broken surrogates) are dropped, white space is
    folded, leading and trailing dots and blanks go, and a long name is cut to
    ``MAX_NAME_CHARS`` keeping its suffix. A name with nothing left is ``datei``. The
    name is shown and keyed, never used as a path: originals are stored by their hash.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split()).strip(" .")
    suffix = PurePath(name).suffix if "." in name else ""
    if len(suffix) > _MAX_SUFFIX_CHARS:
        suffix = ""
    if len(name) > MAX_NAME_CHARS:
        name = name[: MAX_NAME_CHARS - len(suffix)].rstrip(" .") + suffix
    return name or "datei"


def upload_source(filename: str) -> str:
    """The source key of an uploaded file: the same name again is the same report."""
    return UPLOAD_PREFIX + safe_filename(filename)


# --------------------------------------------------------------------------- ingesting


def _preferred_id(source: str, doc: NewDocument) -> str:
    """A readable id from the front matter ``id`` or the file name (the knowledge base
    keeps the id of a known source and makes a taken one unique)."""
    return slugify(str(doc.doc_id or PurePath(source).stem)) or "dokument"


def build_document(
    data: bytes, filename: str, source: str, settings_chunk: tuple[int, int], limits: Limits
) -> tuple[NewDocument, str]:
    """Extract, complete metadata and chunk one file; raises ExtractionError."""
    extracted = extract_bytes(data, filename, limits)
    meta = infer_metadata(extracted, filename)
    max_chars, min_chars = settings_chunk
    chunks = chunk_document(
        extracted.text, extracted.pages, max_chars=max_chars, min_chars=min_chars
    )
    if not chunks:
        raise ExtractionError("no_text", "no text found", "kein Text gefunden")
    topics = meta.get("topics") or []
    doc = NewDocument(
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        text=extracted.text,
        chunks=chunks,
        title=meta.get("title") or PurePath(filename).stem,
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


@dataclass
class _Pending:
    """A file read, extracted and chunked, waiting to be written with its batch."""

    shown: str
    item: Incoming
    moving: bool  # rewritten under a new source key, keeping its id


def _prepare(
    kb: KnowledgeBase,
    data: bytes,
    filename: str,
    source: str,
    *,
    shown: str,
    force: bool,
    legacy_source: str | None,
    limits: Limits,
    overrides: dict | None = None,
    replaces: str | None = None,
) -> FileResult | _Pending:
    """Everything before writing: unchanged files end here, bad ones fail here."""
    sha = hashlib.sha256(data).hexdigest()
    state = kb.source_state(source)
    moving = False
    if state is None and legacy_source and legacy_source != source:
        state = kb.source_state(legacy_source)
        moving = state is not None
    if state is not None and state[1] == sha and not force and not moving:
        return FileResult(shown, "unchanged", doc_id=state[0])
    try:
        doc, fmt = build_document(
            data,
            filename,
            source,
            (kb.settings.chunk_max_chars, kb.settings.chunk_min_chars),
            limits,
        )
    except ExtractionError as exc:
        return FileResult.problem(shown, exc)
    if overrides:
        doc = dataclasses.replace(doc, **overrides)
    item = Incoming(
        doc,
        _preferred_id(source, doc),
        fmt,
        original=data,
        filename=filename,
        replaces=replaces or (state[0] if moving else None),
    )
    return _Pending(shown, item, moving)


def _write(kb: KnowledgeBase, pending: list[_Pending], actor: str) -> list[FileResult]:
    """Write prepared files together; each gets its own result."""
    return _results(pending, kb.add_documents([p.item for p in pending], actor=actor))


def _results(
    pending: Sequence[_Pending], outcomes: Sequence[Written | Exception]
) -> list[FileResult]:
    """The result of each written file, from the knowledge base's outcome."""
    results = []
    for p, written in zip(pending, outcomes, strict=True):
        if isinstance(written, ExtractionError):
            results.append(FileResult.problem(p.shown, written))
        elif isinstance(written, KBError):  # the index's refusal, e.g. busy: its own code
            results.append(FileResult(p.shown, "failed", reason=str(written), code=written.code))
        elif isinstance(written, Exception):
            results.append(FileResult.problem(p.shown, unexpected_error(written)))
        else:
            results.append(
                FileResult(
                    p.shown,
                    "updated" if p.moving else written.status,
                    doc_id=written.doc_id,
                    chunks=len(p.item.doc.chunks),
                    duplicate_of=written.duplicate_of,
                    near_duplicates=written.near_duplicates,
                )
            )
    return results


def ingest_bytes(
    kb: KnowledgeBase,
    data: bytes,
    filename: str,
    source: str,
    *,
    shown: str | None = None,
    force: bool = False,
    legacy_source: str | None = None,
    limits: Limits | None = None,
    actor: str = "system",
    overrides: dict | None = None,
    replaces: str | None = None,
) -> FileResult:
    """Ingest the bytes of one file under a source key (also used for uploads).

    With ``legacy_source``, a document known only under that older key is reused
    (same id) and rewritten under ``source``. ``overrides`` are checked metadata fields
    (``search.models.check_metadata``) that replace what extraction found. ``replaces``
    names a report whose file this is (give that report's source): it keeps its id.
    The same bytes as the report's current file are ``unchanged`` in every case.
    """
    prepared = _prepare(
        kb,
        data,
        filename,
        source,
        shown=shown or filename,
        force=force,
        legacy_source=legacy_source,
        limits=limits or Limits.from_settings(kb.settings),
        overrides=overrides,
        replaces=replaces,
    )
    if isinstance(prepared, FileResult):
        return prepared
    return _write(kb, [prepared], actor)[0]


#: files written together (embedded in one batch): bounds the memory a batch holds
BATCH_FILES = 16
BATCH_CHUNKS = 256


def ingest_files(
    kb: KnowledgeBase,
    files: Iterable[SourceFile],
    *,
    force: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
    actor: str = "system",
) -> IngestReport:
    """Ingest what :func:`iter_files` yields; ``on_file`` sees each result as it comes.

    Files are written in batches embedded together. Each file is its own failure
    domain: besides the reasons extraction gives, any unexpected exception becomes a
    failed result naming its type, never an abort.
    """
    limits = Limits.from_settings(kb.settings)
    report = IngestReport()
    groups: deque[list[FileResult | _Pending]] = deque()  # read, not yet reported

    def batches() -> Iterator[list[Incoming]]:
        waiting: list[FileResult | _Pending] = []  # in file order: results and pending
        chunks = 0
        for item in files:
            entry = _read_and_prepare(kb, item, limits, force)
            waiting.append(entry)
            if isinstance(entry, _Pending):
                chunks += len(entry.item.doc.chunks)
            pending = [w.item for w in waiting if isinstance(w, _Pending)]
            if len(pending) >= BATCH_FILES or chunks >= BATCH_CHUNKS:
                groups.append(waiting)
                yield pending
                waiting, chunks = [], 0
        if waiting:
            groups.append(waiting)
            yield [w.item for w in waiting if isinstance(w, _Pending)]

    with kb.bulk():
        for outcomes in kb.add_batches(batches(), actor=actor):
            waiting = groups.popleft()
            written = iter(_results([w for w in waiting if isinstance(w, _Pending)], outcomes))
            for entry in waiting:
                result = next(written) if isinstance(entry, _Pending) else entry
                report.results.append(result)
                if on_file is not None:
                    on_file(result)
    return report


def _read_and_prepare(
    kb: KnowledgeBase, item: SourceFile, limits: Limits, force: bool
) -> FileResult | _Pending:
    shown = display_path(item.path)
    if item.problem is not None:
        return FileResult.problem(shown, item.problem)
    try:
        data = read_file(item.path, limits)
        return _prepare(
            kb,
            data,
            display_path(item.path.name),
            item.source,
            shown=shown,
            force=force,
            legacy_source=item.legacy_source,
            limits=limits,
        )
    except ExtractionError as exc:
        return FileResult.problem(shown, exc)
    except Exception as exc:  # a bug or an exhausted resource costs this file, not the run
        return FileResult.problem(shown, unexpected_error(exc))


def unexpected_error(exc: BaseException) -> ExtractionError:
    """An ExtractionError (``internal_error``) naming an unexpected exception in one line."""
    detail = " ".join(str(exc).split())[:200]
    name = type(exc).__name__
    shown = f"{name}: {detail}" if detail else name
    return ExtractionError(
        "internal_error", f"unexpected error ({shown})", f"unerwarteter Fehler ({shown})"
    )


def prune(
    kb: KnowledgeBase,
    paths: Iterable[str | os.PathLike[str]],
    seen: Iterable[SourceFile],
    *,
    actor: str = "system",
) -> list[str]:
    """Remove the reports whose files vanished from the folders in ``paths``; returns
    their ids.

    ``seen`` is what the walk of those folders found (files that failed to read count
    as present: they did not vanish). A report goes only when every one of its sources
    lies in these folders and none is present any more.
    """
    prefixes = tuple(_key(Path(os.path.abspath(p)).name) + "/" for p in paths if Path(p).is_dir())
    if not prefixes:
        return []
    present = {item.source for item in seen}
    removed = []
    for doc_id, sources in kb.sources().items():
        if all(s.startswith(prefixes) and s not in present for s in sources):
            kb.remove_document(doc_id, actor=actor)
            removed.append(doc_id)
    return removed
