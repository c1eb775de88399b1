"""Uploads: a multipart body read as it streams in, with limits, then each file ingested.

The body is parsed with python-multipart's streaming parser while it arrives, never
buffered whole: a file part is refused (413) the moment it passes
``KB_MAX_FILE_BYTES``, the body when it passes what the allowed files and fields can
take (a declared ``Content-Length`` above that is refused before reading), a file
beyond ``KB_MAX_UPLOAD_FILES`` when its part begins. File parts go to spooled temporary
files (in memory up to 1 MiB, then an anonymous file on disk), so memory stays small
whatever a client sends. The names clients give files are only ever shown and keyed
(``ingest.pipeline.safe_filename``); the index stores originals by their hash.

Each file then goes through ``ingest.pipeline.ingest_bytes`` on its own: its type
judged by its bytes, its text extracted and checked, and written completely or not
at all. The source key of an upload is ``upload:<safe file name>``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ingest.formats.base import format_size
from ingest.pipeline import FileResult, ingest_bytes, safe_filename, upload_source
from search.errors import IndexBusy, InvalidDocument, KBError
from search.kb import KnowledgeBase
from search.models import METADATA_FIELDS, check_metadata
from search.settings import Settings

from .errors import ProblemError
from .schemas import FileOutcome

#: file parts stay in memory up to this size, then spill to an anonymous temp file
SPOOL_BYTES = 2**20
#: largest text field (a title, the CSRF token, the topics)
MAX_FIELD_BYTES = 64 * 2**10
#: most text fields in one form
MAX_FIELDS = 100
#: bytes a part's headers and the boundaries may add per part
PART_OVERHEAD = 16 * 2**10

#: HTTP status of a file that failed, by its reason's code (every other reason: 422)
FAILURE_STATUS = {
    "too_large": 413,
    "unsupported_type": 415,
    "type_mismatch": 415,
    "index_busy": 503,
    "internal_error": 500,
}


@dataclass(frozen=True)
class UploadLimits:
    """What one upload body may hold."""

    max_file_bytes: int
    max_files: int
    max_field_bytes: int = MAX_FIELD_BYTES
    max_fields: int = MAX_FIELDS

    @classmethod
    def from_settings(cls, settings: Settings, max_files: int | None = None) -> UploadLimits:
        """The limits of the settings (``max_files`` for routes taking fewer files)."""
        return cls(settings.max_file_bytes, max_files or settings.max_upload_files)

    @property
    def max_body(self) -> int:
        """The largest body these files and fields can make."""
        files = self.max_files * (self.max_file_bytes + PART_OVERHEAD)
        return files + self.max_fields * (self.max_field_bytes + PART_OVERHEAD)


@dataclass
class UploadedFile:
    """One file part: the name as sent and its bytes in a spooled temporary file."""

    field: str
    filename: str
    spool: tempfile.SpooledTemporaryFile = field(
        default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    )
    size: int = 0

    def read(self) -> bytes:
        """All its bytes."""
        self.spool.seek(0)
        return self.spool.read()


@dataclass
class UploadForm:
    """A parsed upload: its files in the order sent and its text fields."""

    files: list[UploadedFile] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def close(self) -> None:
        """Release the temporary files."""
        for item in self.files:
            item.spool.close()

    def value(self, name: str) -> str | None:
        """The last value of a text field, or None."""
        values = self.fields.get(name)
        return values[-1] if values else None


def _too_large(code: str, detail: str, **extra: object) -> ProblemError:
    return ProblemError(413, code, detail, headers={"Connection": "close"}, **extra)


class _Parser:
    """python-multipart callbacks that fill an UploadForm within the limits."""

    def __init__(self, limits: UploadLimits, file_fields: Iterable[str]) -> None:
        self.limits = limits
        self.file_fields = set(file_fields)
        self.form = UploadForm()
        self.n_fields = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._file: UploadedFile | None = None
        self._name = ""
        self._text = bytearray()
        self.pending: list[tuple[UploadedFile, bytes]] = []  # written outside the loop
        self.complete = False  # the closing boundary was read

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_end": self.on_end,
        }

    def on_end(self) -> None:
        self.complete = True

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._file = None
        self._text = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise ProblemError(400, "malformed_body", "a form part has no field name")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            if self._name not in self.file_fields:
                raise invalid_field(self._name, "is not a file field")
            if len(self.form.files) >= self.limits.max_files:
                raise _too_large(
                    "too_many_files",
                    f"at most {self.limits.max_files} files per upload (KB_MAX_UPLOAD_FILES)",
                )
            self._file = UploadedFile(self._name, options[b"filename"].decode("utf-8", "replace"))
            self.form.files.append(self._file)
        else:
            if self._name in self.file_fields:
                raise invalid_field(self._name, "must be a file (a form part with a filename)")
            self.n_fields += 1
            if self.n_fields > self.limits.max_fields:
                raise _too_large("too_many_fields", f"at most {self.limits.max_fields} form fields")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is None:
            if len(self._text) + len(chunk) > self.limits.max_field_bytes:
                raise _too_large(
                    "field_too_large",
                    f"the form field {self._name!r} is longer than "
                    f"{self.limits.max_field_bytes} bytes",
                )
            self._text.extend(chunk)
            return
        self._file.size += len(chunk)
        if self._file.size > self.limits.max_file_bytes:
            name = safe_filename(self._file.filename)
            limit = format_size(self.limits.max_file_bytes)
            reason = f"file too large (more than {limit}, KB_MAX_FILE_BYTES)"
            german = f"Datei zu groß (mehr als {limit})"
            raise _too_large(
                "too_large",
                f"{name}: {reason}",
                files=[failed(name, "too_large", reason, german)],
            )
        self.pending.append((self._file, chunk))

    def on_part_end(self) -> None:
        if self._file is None:
            value = self._text.decode("utf-8", "replace")
            self.form.fields.setdefault(self._name, []).append(value)


def invalid_field(name: str, what: str) -> ProblemError:
    """A 422 ``invalid_request`` naming a form field of the body."""
    detail = f"{name} {what}"
    error = {
        "name": name,
        "in": "body",
        "detail": detail,
        "type": "value_error",
        "loc": ["body", name],
        "msg": what,
    }
    return ProblemError(422, "invalid_request", detail, errors=[error])


async def read_upload(
    request: Request, limits: UploadLimits, file_fields: Iterable[str] = ("files",)
) -> UploadForm:
    """Parse a ``multipart/form-data`` body as it streams in, within ``limits``.

    ProblemError: 415 for another media type, 400 for a malformed body, 413 as soon as
    a limit is passed (the rest of the body is not read), 422 for a file in a field
    that takes none.
    """
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise ProblemError(415, "unsupported_media_type", "send the files as multipart/form-data")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body:
        raise _too_large("body_too_large", f"the body is larger than {limits.max_body} bytes")
    parser = _Parser(limits, file_fields)
    stream = MultipartParser(params[b"boundary"], parser.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limits.max_body:
                raise _too_large(
                    "body_too_large", f"the body is larger than {limits.max_body} bytes"
                )
            stream.write(chunk)
            if parser.pending:
                pending, parser.pending = parser.pending, []
                await run_in_threadpool(_spool, pending)
        stream.finalize()
        if not parser.complete:  # a cut-off body: never ingest a part of a file
            raise ProblemError(400, "malformed_body", "the body ended before its closing boundary")
    except MultipartParseError as exc:
        parser.form.close()
        raise ProblemError(400, "malformed_body", f"malformed multipart body ({exc})") from None
    except ClientDisconnect:
        parser.form.close()
        raise ProblemError(400, "malformed_body", "the client went away mid-upload") from None
    except BaseException:
        parser.form.close()
        raise
    return parser.form


def _spool(pending: list[tuple[UploadedFile, bytes]]) -> None:
    for item, chunk in pending:
        item.spool.write(chunk)


# --------------------------------------------------------------------------- ingesting


def failed(filename: str, code: str, reason: str, german: str | None) -> FileOutcome:
    """The outcome of a file that could not be ingested."""
    return FileOutcome(
        filename=filename, status="failed", code=code, reason=reason, reason_de=german
    )


def metadata_overrides(form: UploadForm) -> dict:
    """The metadata fields of an upload form, checked (InvalidDocument names a bad one).

    Empty fields are left out (extraction decides); ``topics`` may repeat or hold a
    comma-separated list.
    """
    values: dict = {}
    for name in METADATA_FIELDS:
        given = [v for v in form.fields.get(name, []) if v.strip()]
        if not given:
            continue
        if name == "topics":
            values[name] = [t.strip() for v in given for t in v.split(",") if t.strip()]
        else:
            values[name] = given[-1]
    return check_metadata(values)


def unknown_fields(form: UploadForm, allowed: Iterable[str]) -> None:
    """422 for a text field the route does not know (a typo would silently do nothing)."""
    known = set(allowed)
    for name in form.fields:
        if name not in known:
            raise invalid_field(name, "is not a field of this form")


def outcome(result: FileResult, filename: str) -> FileOutcome:
    """The answer for one file from what ingesting it did."""
    if result.status == "failed":
        return failed(filename, result.code or "internal_error", result.reason or "", result.german)
    return FileOutcome(
        filename=filename,
        status=result.status,
        id=result.doc_id,
        duplicate_of=result.duplicate_of,
        near_duplicates=result.near_duplicates,
    )


def ingest_upload(
    kb: KnowledgeBase,
    upload: UploadedFile,
    *,
    actor: str,
    overrides: dict | None = None,
    replaces: str | None = None,
    source: str | None = None,
) -> FileOutcome:
    """Ingest one uploaded file; a failure is an outcome, never an exception.

    Without ``replaces`` its source key is ``upload:<safe name>``; with it, the file
    replaces that report's (give the report's ``source``), which keeps its id.
    """
    name = safe_filename(upload.filename)
    try:
        result = ingest_bytes(
            kb,
            upload.read(),
            name,
            source or upload_source(name),
            actor=actor,
            overrides=overrides,
            replaces=replaces,
        )
    except IndexBusy as exc:
        return failed(name, exc.code, "the knowledge base is busy with another write", None)
    except InvalidDocument as exc:
        return failed(name, exc.code, str(exc), None)
    except KBError as exc:  # e.g. the report to replace was removed meanwhile
        return failed(name, exc.code, str(exc), None)
    return outcome(result, name)


def refusal(outcomes: list[FileOutcome]) -> ProblemError:
    """The problem for an upload of which no file could be ingested: the failures'
    common status (413, 415, 422, 503), else 422; ``files`` lists each reason."""
    statuses = {FAILURE_STATUS.get(o.code or "", 422) for o in outcomes}
    status = statuses.pop() if len(statuses) == 1 else 422
    codes = {o.code for o in outcomes}
    code = codes.pop() if len(codes) == 1 else "upload_failed"
    detail = "; ".join(f"{o.filename}: {o.reason}" for o in outcomes) or "no file was sent"
    headers = {"Retry-After": "5"} if status == 503 else None
    return ProblemError(status, code or "upload_failed", detail, headers=headers, files=outcomes)


async def ingest_in_thread(kb: KnowledgeBase, upload: UploadedFile, **options) -> FileOutcome:
    """:func:`ingest_upload` in the thread pool: extraction and embedding are CPU work
    that must not hold up the event loop (searches go on meanwhile)."""
    return await run_in_threadpool(lambda: ingest_upload(kb, upload, **options))
