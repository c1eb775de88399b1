"""Tests for ingest.formats.archive: zip bombs are measured before python-docx reads them."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from dataclasses import replace

import pytest

from ingest.formats import ExtractionError, Limits, extract_bytes
from ingest.formats.archive import check_archive

from .samples import (
    LIMITS,
    deflated_zeros,
    docx_with_document,
    make_docx,
    many_members_docx,
    zip_bomb_docx,
)

KIND = ("DOCX file", "DOCX-Datei")


def archive_error(data: bytes, limits: Limits) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        check_archive(data, limits, *KIND)
    return info.value


def test_the_bomb_is_small_and_really_unpacks_to_a_gibibyte() -> None:
    data = zip_bomb_docx()

    assert len(data) < 1.2 * 2**20
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = archive.getinfo("word/document.xml")
        assert member.file_size == 2**30
        with archive.open(member) as stream:
            assert stream.read(8 * 2**20) == bytes(8 * 2**20)


def test_zip_bomb_is_stopped_while_unpacking_with_little_memory() -> None:
    tracemalloc.start()
    try:
        err = archive_error(zip_bomb_docx(), replace(LIMITS, max_unpacked_bytes=100 * 2**20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert err.code == "archive_too_large"
    assert str(err) == (
        "DOCX file unpacks to more than 100 MB (limit KB_MAX_UNPACKED_BYTES; a zip bomb?)"
    )
    assert "ZIP-Bombe" in err.german
    assert peak < 40 * 2**20  # unpacked in 1 MiB steps, never held as a whole


def test_zip_bomb_through_the_registry_with_default_limits() -> None:
    with pytest.raises(ExtractionError) as info:
        extract_bytes(zip_bomb_docx(), "bombe.docx", LIMITS)

    assert info.value.code == "archive_too_large"
    assert "200 MB" in str(info.value)


def test_unpacked_limit_counts_every_member() -> None:
    # 3 MiB of zeros in one member plus the ordinary parts: over a 3 MiB limit.
    data = zip_bomb_docx(mib=3)

    assert (
        archive_error(data, replace(LIMITS, max_unpacked_bytes=3 * 2**20)).code
        == "archive_too_large"
    )
    check_archive(data, replace(LIMITS, max_unpacked_bytes=4 * 2**20), *KIND)  # within: no error


def test_too_many_members_are_refused_before_the_archive_is_opened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = many_members_docx(5000)

    def no_opening(*args: object, **kwargs: object) -> None:
        raise AssertionError("the archive must not be opened")

    monkeypatch.setattr(zipfile, "ZipFile", no_opening)
    err = archive_error(data, replace(LIMITS, max_archive_members=1000))

    assert err.code == "archive_too_many_members"
    assert str(err) == (
        "DOCX file has more than 1000 parts (limit KB_MAX_ARCHIVE_MEMBERS; a zip bomb?)"
    )


def test_member_limit_is_exact() -> None:
    members = len(zipfile.ZipFile(io.BytesIO(make_docx())).infolist())
    data = many_members_docx(10)

    check_archive(data, replace(LIMITS, max_archive_members=members + 10), *KIND)
    assert archive_error(data, replace(LIMITS, max_archive_members=members + 9)).code == (
        "archive_too_many_members"
    )


def test_a_header_that_understates_the_size_is_a_damaged_file() -> None:
    # 1 MiB of zeros declared as 1 KiB: unpacking stops at the declared size and the
    # checksum does not match, so the lie gets nothing through.
    stream, crc = deflated_zeros(1)
    lying = docx_with_document(stream, method=zipfile.ZIP_DEFLATED, crc=crc, size=1024)

    err = archive_error(lying, LIMITS)

    assert err.code == "damaged"
    assert str(err) == "not a valid DOCX file (damaged ZIP archive)"


def test_an_ordinary_docx_passes() -> None:
    check_archive(make_docx(), LIMITS, *KIND)
