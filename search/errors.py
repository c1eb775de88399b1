"""Domain errors of the knowledge base. Adapters map them to HTTP and CLI errors."""


class KBError(Exception):
    """Base class: every error the knowledge base raises on purpose."""


class InvalidQuery(KBError):
    """The query is empty, too long or otherwise unusable."""


class DocumentNotFound(KBError):
    """No document has the requested id."""


class EmbedderMismatch(KBError):
    """The index was built with another embedder than the one configured."""


class IndexNotFound(KBError):
    """The index folder holds no knowledge base yet."""


class EmbedderUnavailable(KBError):
    """The configured embedder cannot be loaded (unknown name, missing package)."""
