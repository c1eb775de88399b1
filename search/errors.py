"""Domain errors of the knowledge base. Adapters map them to HTTP and CLI errors.

Every error carries a machine-readable ``code`` (stable, lowercase, snake_case) that
adapters translate or map to a status; ``str(err)`` is an English message a user can
act on.
"""


class KBError(Exception):
    """Base class: every error the knowledge base raises on purpose."""

    #: default machine-readable reason of the class; instances may refine it
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidQuery(KBError):
    """The query is empty, too long or otherwise unusable."""

    code = "invalid_query"


class DocumentNotFound(KBError):
    """No document has the requested id."""

    code = "document_not_found"


class EmbedderMismatch(KBError):
    """The index was built with another embedder than the one configured."""

    code = "embedder_mismatch"


class IndexNotFound(KBError):
    """The index folder holds no knowledge base yet."""

    code = "index_not_found"


class EmbedderUnavailable(KBError):
    """The configured embedder cannot be loaded (unknown name, missing package)."""

    code = "embedder_unavailable"


class AnalyzerMismatch(KBError):
    """The index was built with another lexical analyzer than this program's."""

    code = "analyzer_mismatch"


class IndexFormatError(KBError):
    """The index was written in a format this version of the program cannot read."""

    code = "index_format"


class IndexBusy(KBError):
    """Another writer held the index's write lock longer than the configured wait."""

    code = "index_busy"


class InvalidDocument(KBError):
    """A document or a metadata change cannot be written as given."""

    code = "invalid_document"
