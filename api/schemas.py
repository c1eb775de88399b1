"""The HTTP contract: pydantic models of every JSON answer, so ``/openapi.json`` names each
field. The core returns dataclasses and dicts; the routes validate them into these models,
so a field the core drops fails loudly here instead of silently leaving the contract.

Fields are only ever added; renaming or removing one needs a new API version (``/api/v2``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Mark(BaseModel):
    """A range of the snippet to mark, and why."""

    start: int = Field(description="First character in `snippet`")
    end: int = Field(description="Character after the range")
    kind: Literal["term", "semantic"] = Field(
        description="`term`: a query word (or a part of a compound) occurs here; "
        "`semantic`: the sentence closest in meaning to the query (a query in another "
        "language, or a match without shared words)"
    )


class FacetValue(BaseModel):
    """A value and how many reports have it."""

    value: str
    count: int


class SearchHit(BaseModel):
    """One report in a result list, with its best passage."""

    id: str = Field(description="Document id; `GET /api/v1/documents/{id}` has the full report")
    title: str
    snippet: str = Field(description="The report's best passage for the query, shortened")
    highlights: list[tuple[int, int]] = Field(
        description="`[start, end)` character ranges of matched words in `snippet`"
    )
    score: float = Field(description="Relevance; higher is better, comparable within one answer")
    date: str | None = Field(description="Date of the event: YYYY-MM-DD, YYYY-MM or YYYY")
    event: str | None
    location: str | None
    organiser: str | None
    topics: list[str]
    source: str = Field(description="Path of the file the report was ingested from")
    source_url: str | None = Field(description="Where the report is published, if known")
    page: int | None = Field(description="PDF page of the snippet (1-based), else null")
    format: str | None = Field(description="File format: txt, md, pdf or docx")
    matched_terms: list[str] = Field(
        description="Query words found in the passage shown (also as part of a compound: "
        "'Wasserstoff' in 'Wasserstoffstrategie')"
    )
    marks: list[Mark] = Field(
        description="Ranges of `snippet` to mark: the `highlights` as kind `term`, and where "
        "no query word occurs, the best sentence as kind `semantic`"
    )
    passage: int = Field(description="Position of the snippet's passage in the report (0-based)")
    file_url: str | None = Field(
        None,
        description="Path of the original file (`GET /api/v1/documents/{id}/file`); for "
        "a PDF with `#page=N`, the page of the snippet; null when no original is kept",
    )


class Facets(BaseModel):
    """Counts of values over all matching reports (not only the page shown)."""

    topics: list[FacetValue]
    years: list[FacetValue]
    organisers: list[FacetValue]
    events: list[FacetValue]
    formats: list[FacetValue]


class SearchResponse(BaseModel):
    """Matching reports for a query, one hit per report, in the order asked for."""

    query: str = Field(description="The query as searched (white space folded)")
    total: int = Field(
        description="Matching reports: those whose relevance passes the documented cutoff "
        "(see docs/quality.md, 'Matching reports'), after the filters"
    )
    took_ms: float = Field(description="Time the search took in the knowledge base")
    results: list[SearchHit]
    k: int = Field(description="Page size used")
    offset: int = Field(description="Reports skipped before this page")
    sort: Literal["relevance", "date"] = Field(description="Order of the results")
    facets: Facets
    next: str | None = Field(description="URL of the next page, if there is one")
    prev: str | None = Field(description="URL of the previous page, if there is one")


class SimilarReport(BaseModel):
    """A report close to another one, with its metadata."""

    id: str
    title: str
    score: float = Field(description="Cosine of the two reports' mean passage vectors")
    date: str | None
    event: str | None
    location: str | None
    organiser: str | None
    topics: list[str]
    format: str | None


class SimilarReports(BaseModel):
    """Reports close to one report, best first (not the report itself)."""

    id: str = Field(description="The report they are similar to")
    results: list[SimilarReport]


class Values(BaseModel):
    """Every value of a metadata field with its number of reports, most frequent first."""

    values: list[FacetValue]


class DocumentSummary(BaseModel):
    """A report's metadata, without its text."""

    id: str
    source: str = Field(description="Path of the file the report was ingested from")
    sha256: str = Field(description="SHA-256 of the ingested file")
    format: str | None
    title: str
    date: str | None
    event: str | None
    location: str | None
    organiser: str | None
    topics: list[str]
    language: str | None
    source_url: str | None
    pages: int | None = Field(description="Number of PDF pages, else null")
    n_chunks: int = Field(description="Passages the report was split into")
    added_at: str = Field(description="When the report was first ingested (ISO 8601)")
    updated_at: str = Field(description="When the report was last ingested or corrected (ISO 8601)")
    filename: str | None = Field(
        None, description="Name of the original file as ingested or uploaded (display only)"
    )


class Document(DocumentSummary):
    """A report: metadata and full text."""

    text: str = Field(description="Full text as extracted")


class ListedDocument(DocumentSummary):
    """A report in a list: its metadata, its last change and its near duplicates."""

    last_change: str | None = Field(
        None, description="When the change log last named this report (ISO 8601)"
    )
    near_duplicates: list[str] = Field(
        default_factory=list,
        description="Ids of reports with almost the same text (e.g. the same report as PDF "
        "and as DOCX)",
    )


class DocumentList(BaseModel):
    """One page of reports' metadata, newest report date first."""

    total: int = Field(description="Reports in the knowledge base that match the filters")
    offset: int
    limit: int
    documents: list[ListedDocument]


class DocumentPatch(BaseModel):
    """Metadata fields to correct; fields left out stay as they are, `null` clears one
    (except `title`)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=500, examples=["Grüner Wasserstoff im Emsland"])
    date: str | None = Field(
        None, max_length=10, description="YYYY, YYYY-MM or YYYY-MM-DD", examples=["2019-03-21"]
    )
    event: str | None = Field(None, max_length=500)
    location: str | None = Field(None, max_length=500)
    organiser: str | None = Field(None, max_length=500)
    topics: list[str] | None = Field(None, max_length=50, examples=[["Wasserstoff", "Energie"]])
    language: str | None = Field(None, max_length=500)
    source_url: str | None = Field(None, max_length=500)


UploadStatus = Literal["added", "updated", "unchanged", "duplicate", "failed"]


class FileOutcome(BaseModel):
    """What became of one uploaded file."""

    filename: str = Field(
        description="The file's name as shown and stored: its last path component, without "
        "control characters, at most 120 characters"
    )
    status: UploadStatus = Field(
        description="`added` (a new report), `updated` (the report of this file name got "
        "new content), `unchanged` (the same bytes again), `duplicate` (the same file as "
        "report `duplicate_of`, recorded as a further source of it) or `failed`"
    )
    id: str | None = Field(None, description="The report's id (not for `failed`)")
    duplicate_of: str | None = Field(None, description="For `duplicate`: the report's id")
    near_duplicates: list[str] = Field(
        default_factory=list,
        description="Reports with almost the same text (e.g. the same report as PDF and DOCX)",
    )
    code: str | None = Field(
        None,
        description="For `failed`: machine-readable reason (`too_large`, `unsupported_type`, "
        "`type_mismatch`, `encrypted`, `damaged`, `no_text`, `archive_too_large`, ...)",
    )
    reason: str | None = Field(None, description="For `failed`: the reason in English")
    reason_de: str | None = Field(None, description="For `failed`: the reason in German")


class UploadResponse(BaseModel):
    """Per uploaded file, in the order sent, what became of it."""

    files: list[FileOutcome]


class Change(BaseModel):
    """One entry of the change log."""

    id: int = Field(description="Sequence number; higher is newer")
    at: str = Field(description="When (ISO 8601, UTC)")
    actor: str = Field(description="Who: the API key's name, or `cli:<user>` for the CLI")
    action: Literal["added", "updated", "edited", "replaced", "removed", "alias"] = Field(
        description="`added`, `updated` (new file content), `edited` (metadata corrected), "
        "`removed`, `alias` (the same file under another source)"
    )
    doc_id: str
    before: dict[str, Any] | None = Field(description="The report's metadata before")
    after: dict[str, Any] | None = Field(description="The report's metadata after")


class ChangeList(BaseModel):
    """One page of the change log, newest first."""

    total: int = Field(description="All changes recorded")
    offset: int
    limit: int
    changes: list[Change]


class Health(BaseModel):
    """Liveness: the process answers; with the counts of the open knowledge base."""

    status: Literal["ok"]
    documents: int
    chunks: int
    embedder: str


class ReadinessChecks(BaseModel):
    """What readiness requires; each true when met."""

    knowledge_base: bool = Field(description="The knowledge base is open")
    model: bool = Field(description="The embedding model is loaded")
    store: bool = Field(description="The store answers a read")


class Readiness(BaseModel):
    """Readiness: the service can answer searches now."""

    status: Literal["ready"]
    checks: ReadinessChecks
    generation: int = Field(description="Generation of the store (changes with every write)")


class ParameterError(BaseModel):
    """One bad part of a request."""

    name: str = Field(description="The parameter (or body field) at fault")
    location: str = Field(
        alias="in", description="Where it was: query, path, header, cookie or body"
    )
    detail: str = Field(description="What is wrong with it")
    type: str = Field(description="Machine-readable kind of error (pydantic's error type)")
    loc: list[str | int] = Field(description="Full location, e.g. `['query', 'k']`")
    msg: str = Field(description="The validator's message")

    model_config = ConfigDict(populate_by_name=True)


class Problem(BaseModel):
    """An error answer, `application/problem+json` (RFC 9457)."""

    type: str = Field(
        "about:blank",
        description="URI of the problem type; `about:blank`: the status says it all, "
        "`code` tells the reason",
    )
    title: str = Field(description="Short summary of the status (its HTTP reason phrase)")
    status: int = Field(description="HTTP status code")
    detail: str = Field(description="What went wrong, in English, naming the bad parameter")
    code: str = Field(
        description="Stable machine-readable reason, e.g. `query_empty`, `k_out_of_range`, "
        "`document_not_found`, `invalid_request`, `index_busy`, `internal_error`"
    )
    errors: list[ParameterError] | None = Field(
        None, description="For `invalid_request`: each bad parameter"
    )
    checks: ReadinessChecks | None = Field(None, description="For `not_ready`: what failed")
    files: list[FileOutcome] | None = Field(
        None, description="For a refused upload: each file's outcome and reason"
    )
