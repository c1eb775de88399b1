"""Ingestion limits from the ``KB_*`` environment.

``KB_MAX_FILE_BYTES`` lives in ``search.settings.Settings``; the archive limits are
read here with the same prefix until they join that settings object.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from search.settings import Settings

from .formats.base import DEFAULT_MAX_ARCHIVE_MEMBERS, DEFAULT_MAX_UNPACKED_BYTES, Limits


class ArchiveSettings(BaseSettings):
    """Limits for ZIP-based files (DOCX): ``KB_MAX_UNPACKED_BYTES``, ``KB_MAX_ARCHIVE_MEMBERS``."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    max_unpacked_bytes: int = Field(
        DEFAULT_MAX_UNPACKED_BYTES,
        ge=2**20,
        description="Most bytes a DOCX may unpack to (counted while unpacking)",
    )
    max_archive_members: int = Field(
        DEFAULT_MAX_ARCHIVE_MEMBERS, ge=10, description="Most entries a DOCX may have"
    )


def limits_for(settings: Settings) -> Limits:
    """The extraction limits of a run: the file size from ``settings``, the rest from KB_*."""
    archive = ArchiveSettings()
    return Limits(
        max_file_bytes=settings.max_file_bytes,
        max_unpacked_bytes=archive.max_unpacked_bytes,
        max_archive_members=archive.max_archive_members,
    )
