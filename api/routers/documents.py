"""Reports: list, read, upload, correct, replace, delete, and their original files.

Reads are open unless ``KB_READ_KEYS_REQUIRED``; changes need a curator key. Every
change is written completely or not at all and recorded in the change log under the
key's name.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from search.models import METADATA_FIELDS
from search.settings import Settings

from ..auth import CuratorDep, read_dependencies, read_problems
from ..caching import CONDITIONAL_RESPONSES, conditional_get
from ..deps import KBDep
from ..errors import problem_responses
from ..params import DIGITS, ONE_VALUE_EACH
from ..schemas import (
    Document,
    DocumentList,
    DocumentPatch,
    DocumentSummary,
    SimilarReport,
    SimilarReports,
    UploadResponse,
)
from ..uploads import (
    UploadLimits,
    ingest_in_thread,
    invalid_field,
    metadata_overrides,
    read_upload,
    refusal,
    unknown_fields,
)

#: SQLite's largest integer: a deeper offset cannot be passed to the store
MAX_OFFSET = 2**63 - 1

#: media types of the original files by their format
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}

DocId = Annotated[
    str,
    Path(
        description="Document id, as in a search hit", examples=["wasserstoff-forum-emsland-2019"]
    ),
]


def _metadata_schema(max_length: int = 500) -> dict:
    text = {"type": "string", "maxLength": max_length}
    fields = {name: dict(text) for name in METADATA_FIELDS}
    fields["date"] = {"type": "string", "description": "YYYY, YYYY-MM or YYYY-MM-DD"}
    fields["topics"] = {
        "type": "array",
        "items": {"type": "string"},
        "description": "Topics; the field may repeat or hold a comma-separated list",
    }
    return fields


def _form_body(files_field: str, max_files: int, description: str) -> dict:
    """OpenAPI of a multipart body (the route reads it itself, as it streams)."""
    binary = {"type": "string", "format": "binary"}
    files = (
        {"type": "array", "items": binary, "minItems": 1, "maxItems": max_files}
        if max_files > 1
        else binary
    )
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [files_field],
                        "additionalProperties": False,
                        "properties": {files_field: files, **_metadata_schema()},
                    }
                }
            },
        }
    }


def _location(doc_id: str) -> str:
    return f"/api/v1/documents/{quote(doc_id, safe='')}"


def build_router(settings: Settings) -> APIRouter:
    """The routes of reports; whether reads need a key comes from ``settings``."""
    router = APIRouter(
        prefix="/api/v1/documents", tags=["documents"], dependencies=[ONE_VALUE_EACH]
    )
    reads = read_dependencies(settings)
    read_errors = read_problems(settings)
    conditional = [*reads, Depends(conditional_get)]
    write_errors = (401, 403)

    @router.get(
        "",
        dependencies=conditional,
        responses={**CONDITIONAL_RESPONSES, **problem_responses(*read_errors, 422, 500, 503)},
    )
    def list_documents(
        kb: KBDep,
        offset: Annotated[
            int, Query(ge=0, le=MAX_OFFSET, description="Skip this many reports"), DIGITS
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=200, description="Reports per page"), DIGITS] = 50,
        q: Annotated[
            str | None,
            Query(
                max_length=200,
                description="Only reports with this text in the title, event, location, "
                "organiser, source or file name (case-insensitive)",
            ),
        ] = None,
        year: Annotated[
            int | None, Query(ge=1, le=9999, description="Only reports of this year"), DIGITS
        ] = None,
        topic: Annotated[
            str | None, Query(max_length=200, description="Only reports with this topic")
        ] = None,
    ) -> DocumentList:
        """Reports' metadata, newest report date first (paged, optionally filtered), each
        with its last change and its near duplicates."""
        total, rows = kb.find_documents(offset, limit, text=q, year=year, topic=topic)
        return DocumentList(total=total, offset=offset, limit=limit, documents=rows)

    @router.get(
        "/{doc_id}",
        dependencies=conditional,
        responses={**CONDITIONAL_RESPONSES, **problem_responses(*read_errors, 404, 422, 500, 503)},
    )
    def get_document(doc_id: DocId, kb: KBDep) -> Document:
        """One report: metadata and full text."""
        return Document.model_validate(kb.get_document(doc_id))

    @router.get(
        "/{doc_id}/similar",
        dependencies=conditional,
        responses={**CONDITIONAL_RESPONSES, **problem_responses(*read_errors, 404, 422, 500, 503)},
    )
    def similar_documents(
        doc_id: DocId,
        kb: KBDep,
        k: Annotated[int, Query(ge=1, le=100, description="Number of reports"), DIGITS] = 5,
    ) -> SimilarReports:
        """Reports close to this one (by their mean passage vectors), best first."""
        found = kb.similar(doc_id, k)
        return SimilarReports(id=doc_id, results=[SimilarReport.model_validate(r) for r in found])

    @router.get(
        "/{doc_id}/file",
        dependencies=conditional,
        response_class=FileResponse,
        responses={
            200: {
                "description": "The original file, as uploaded or ingested",
                "content": {media: {} for media in MEDIA_TYPES.values()},
            },
            304: CONDITIONAL_RESPONSES[304],
            **problem_responses(*read_errors, 404, 422, 500, 503),
        },
    )
    def get_file(doc_id: DocId, kb: KBDep) -> FileResponse:
        """The report's original file as it was uploaded or ingested. A PDF opens inline
        (search hits link to `…/file#page=N`); other formats download."""
        path, filename, fmt = kb.original(doc_id)
        name = filename or f"{doc_id}.{fmt or 'bin'}"
        return FileResponse(
            path,
            media_type=MEDIA_TYPES.get(fmt or "", "application/octet-stream"),
            filename=name,
            content_disposition_type="inline" if fmt == "pdf" else "attachment",
        )

    @router.post(
        "",
        status_code=201,
        response_model=UploadResponse,
        responses={
            200: {
                "model": UploadResponse,
                "description": "Nothing was added, but at least one file was ingested "
                "(`updated`, `unchanged` or `duplicate`); failed files are listed too",
            },
            201: {
                "description": "At least one report was added; `Location` names the first",
                "headers": {
                    "Location": {
                        "description": "Path of the first added report",
                        "schema": {"type": "string"},
                    }
                },
            },
            **problem_responses(400, *write_errors, 413, 415, 422, 500, 503),
        },
        openapi_extra=_form_body(
            "files",
            settings.max_upload_files,
            "Files (.pdf .docx .md .txt) in the field `files` (repeat it for several) and "
            "optional metadata fields that replace what extraction found, for every file",
        ),
    )
    async def upload_documents(request: Request, key: CuratorDep, kb: KBDep) -> JSONResponse:
        """Upload one or more reports (curator key).

        Per file: `added`, `updated` (an earlier upload of the same file name, new
        content), `unchanged` (the same bytes again), `duplicate` (the same file as
        another report, recorded as its further source) or `failed` with the reason.
        201 with `Location` when a report was added, 200 otherwise; when no file could
        be ingested, a problem: 413 (too large, refused while streaming), 415 (type not
        supported, judged by the bytes), 422 (unreadable, encrypted, scanned, ...). A
        failed file changes nothing in the index.
        """
        form = await read_upload(request, UploadLimits.from_settings(kb.settings))
        try:
            unknown_fields(form, METADATA_FIELDS)
            overrides = metadata_overrides(form)
            if not form.files:
                raise invalid_field("files", "is required: send at least one file")
            outcomes = [
                await ingest_in_thread(kb, upload, actor=key.name, overrides=overrides)
                for upload in form.files
            ]
        finally:
            form.close()
        answer = UploadResponse(files=outcomes)
        added = [o.id for o in outcomes if o.status == "added" and o.id]
        if added:
            return JSONResponse(
                answer.model_dump(mode="json"),
                status_code=201,
                headers={"Location": _location(added[0])},
            )
        if all(o.status == "failed" for o in outcomes):
            raise refusal(outcomes)
        return JSONResponse(answer.model_dump(mode="json"))

    @router.patch("/{doc_id}", responses=problem_responses(400, *write_errors, 404, 422, 500, 503))
    def correct_document(
        doc_id: DocId, patch: DocumentPatch, key: CuratorDep, kb: KBDep
    ) -> DocumentSummary:
        """Correct a report's metadata (curator key). A new title, topics or event change
        what search finds at once (the metadata vector and title terms are recomputed;
        passages are not re-embedded)."""
        values = patch.model_dump(exclude_unset=True)
        return DocumentSummary.model_validate(kb.update_metadata(doc_id, values, actor=key.name))

    @router.put(
        "/{doc_id}/file",
        responses={
            200: {"model": UploadResponse, "description": "`updated` or `unchanged`"},
            **problem_responses(400, *write_errors, 404, 413, 415, 422, 500, 503),
        },
        openapi_extra=_form_body(
            "file",
            1,
            "The new file in the field `file`; optional metadata fields replace what "
            "extraction finds in it",
        ),
    )
    async def replace_file(
        request: Request, doc_id: DocId, key: CuratorDep, kb: KBDep
    ) -> UploadResponse:
        """Replace a report's file (curator key); its id and source stay. The same bytes
        again are `unchanged`; a file that cannot be read changes nothing (413/415/422)."""
        current = await run_in_threadpool(kb.get_document, doc_id)  # 404 before the body
        limits = UploadLimits.from_settings(kb.settings, max_files=1)
        form = await read_upload(request, limits, file_fields=("file",))
        try:
            unknown_fields(form, METADATA_FIELDS)
            overrides = metadata_overrides(form)
            if not form.files:
                raise invalid_field("file", "is required: send the new file")
            result = await ingest_in_thread(
                kb,
                form.files[0],
                actor=key.name,
                overrides=overrides,
                replaces=doc_id,
                source=current["source"],
            )
        finally:
            form.close()
        if result.status == "failed":
            raise refusal([result])
        return UploadResponse(files=[result])

    @router.delete(
        "/{doc_id}",
        status_code=204,
        response_class=Response,
        responses=problem_responses(*write_errors, 404, 422, 500, 503),
    )
    def delete_document(doc_id: DocId, key: CuratorDep, kb: KBDep) -> Response:
        """Remove a report (curator key): gone from search at once, in every process on
        this index; its original file goes unless another report shares it."""
        kb.remove_document(doc_id, actor=key.name)
        return Response(status_code=204)

    return router
