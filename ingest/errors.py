"""The one error type of ingestion: why a file could not become a document.

Every reason has a stable machine-readable ``code`` (adapters and a curation UI switch
on it), an English ``str()`` and a German ``.german`` text. Exceptions of pypdf,
python-docx, PyYAML or the file system never escape extraction; they stay reachable as
``__cause__`` for debugging.
"""

from __future__ import annotations

from search.errors import KBError

#: every code an ExtractionError may carry, with what it means
CODES = {
    "not_found": "the path does not exist",
    "not_a_file": "the path is not a regular file",
    "unreadable": "the file or folder cannot be read (permissions, I/O error)",
    "unsupported_type": "the file name's suffix is not a supported format",
    "type_mismatch": "the content is another format than the suffix says",
    "too_large": "the file is larger than KB_MAX_FILE_BYTES",
    "empty": "the file holds no text at all",
    "binary": "text file with binary content",
    "bad_encoding": "text file whose encoding is broken",
    "junk_text": "the text fails the junk rule (no words)",
    "invalid_front_matter": "YAML front matter that cannot be read",
    "encrypted": "a PDF that cannot be decrypted without a password",
    "damaged": "a PDF or DOCX file that is damaged or truncated",
    "no_text": "a valid file without extractable text",
    "archive_too_large": "a DOCX that unpacks to more than KB_MAX_UNPACKED_BYTES",
    "archive_too_many_members": "a DOCX with more parts than KB_MAX_ARCHIVE_MEMBERS",
    "link_outside": "a symbolic link that leads out of the ingested folder (skipped)",
    "internal_error": "an unexpected error while ingesting the file (a bug)",
}


class ExtractionError(KBError):
    """A file could not be turned into a document.

    ``str(err)`` is the English reason, ``err.german`` the German one and
    ``err.code`` one of :data:`CODES`.
    """

    def __init__(self, code: str, reason: str, german: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown extraction error code {code!r}")
        super().__init__(reason, code=code)
        self.reason = reason
        self.german = german
