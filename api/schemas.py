"""The HTTP contract: pydantic models of every JSON answer, so ``/openapi.json`` names each
field. The core returns dataclasses and dicts; the routes validate them into these models,
so a field the core drops fails loudly here instead of silently leaving the contract.

Fields are only ever added; renaming or removing one needs a new API version (``/api/v2``).
"""

from __future__ import annotations

from typing import Literal

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
    updated_at: str = Field(description="When the report was last ingested (ISO 8601)")


class Document(DocumentSummary):
    """A report: metadata and full text."""

    text: str = Field(description="Full text as extracted")


class DocumentList(BaseModel):
    """One page of reports' metadata, newest report date first."""

    total: int = Field(description="Reports in the knowledge base")
    offset: int
    limit: int
    documents: list[DocumentSummary]


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
