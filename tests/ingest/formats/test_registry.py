"""Tests for the format registry (ingest.formats): suffixes, limits, bytes vs. suffix, junk."""

from __future__ import annotations

import io
import random
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.errors import CODES
from ingest.formats import (
    SUPPORTED_SUFFIXES,
    ExtractionError,
    extract_bytes,
    junk_share,
    read_file,
    sniff,
)
from search.errors import KBError

from .samples import (
    FIXTURES,
    FRONT_MATTER_MD,
    LIMITS,
    MULTI_PAGE,
    extract_sample,
    extraction_error,
    make_docx,
    pdf_bytes,
    sample,
)


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_zero_byte_file_is_empty(suffix: str) -> None:
    file = sample(f"leer{suffix}", b"")

    assert str(extraction_error(file)) == "file is empty"


@pytest.mark.parametrize("name", ["leer.txt", "leer.md", "leer.pdf", "leer.docx"])
def test_whitespace_only_file_is_empty(name: str) -> None:
    file = sample(name, b" \n\t\r\n  \n")

    assert "empty" in str(extraction_error(file))


@pytest.mark.parametrize("name", ["bericht.pdf", "bericht.docx", "bericht.md"])
def test_randomly_damaged_files_raise_only_extraction_error(name: str) -> None:
    originals = {
        ".pdf": (FIXTURES / "bericht-zwei-seiten.pdf").read_bytes(),
        ".docx": make_docx(),
        ".md": FRONT_MATTER_MD.encode(),
    }
    original = originals[Path(name).suffix]
    rng = random.Random(name)
    for _ in range(40):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(1, len(damaged))]
        try:
            result = extract_bytes(bytes(damaged), name, LIMITS)
        except ExtractionError as err:
            assert str(err) and "\n" not in str(err)
            assert err.code in CODES and err.german
        else:
            assert result.text.strip()


# --------------------------------------------------------------------------- dispatch and limits


@pytest.mark.parametrize("name", ["bericht.doc", "bild.png", "README", "tabelle.xlsx"])
def test_unsupported_suffix(name: str) -> None:
    file = sample(name, b"irgendwas")

    assert "unsupported file type" in str(extraction_error(file))


def test_suffix_is_case_insensitive() -> None:
    result = extract_sample(sample("BERICHT.PDF", pdf_bytes(MULTI_PAGE[:1])))

    assert result.format == "pdf"


def test_file_too_large_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "gross.txt"
    path.write_bytes(b"x" * 3 * 2**20)

    with pytest.raises(ExtractionError) as info:
        read_file(path, replace(LIMITS, max_file_bytes=2 * 2**20))

    assert str(info.value) == "file too large (3 MB, limit 2 MB)"
    assert info.value.code == "too_large"
    assert info.value.german == "Datei zu groß (3 MB, Grenze 2 MB)"


def test_extract_bytes_too_large() -> None:
    with pytest.raises(ExtractionError, match="file too large") as info:
        extract_bytes(b"x" * 2000, "upload.txt", replace(LIMITS, max_file_bytes=1024))

    assert info.value.code == "too_large"


def read_error(path: Path) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        read_file(path, LIMITS)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    err = read_error(tmp_path / "fehlt.txt")

    assert str(err) == "file not found (it does not exist)"
    assert err.code == "not_found"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "ordner.md"
    folder.mkdir()

    err = read_error(folder)

    assert str(err) == "not a regular file"
    assert err.code == "not_a_file"


def test_unsupported_file_is_not_read(tmp_path: Path) -> None:
    # No such file: the suffix alone decides, before the disk is touched.
    assert read_error(tmp_path / "tabelle.xlsx").code == "unsupported_type"


def test_read_file_and_extract_bytes_agree(tmp_path: Path) -> None:
    data = FRONT_MATTER_MD.encode()
    path = tmp_path / "a.md"
    path.write_bytes(data)

    from_disk = extract_bytes(read_file(path, LIMITS), path.name, LIMITS)

    assert from_disk == extract_bytes(data, "upload/a.md", LIMITS)


# --------------------------------------------------------------------------- bytes vs. suffix


def test_pdf_renamed_to_txt_is_binary() -> None:
    file = sample("bericht.txt", pdf_bytes(MULTI_PAGE[:1]))

    assert "binary" in str(extraction_error(file))


def zip_of(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "Inhalt")
    return buffer.getvalue()


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600


def test_sniff_knows_the_formats_by_their_bytes() -> None:
    assert sniff(pdf_bytes(MULTI_PAGE[:1])) == "pdf"
    assert sniff(b"\n  %PDF-1.7\n") == "pdf"
    assert sniff(make_docx()) == "docx"
    assert sniff(zip_of("notiz.txt")) == "zip"
    assert sniff(OLE2) == "ole"
    assert sniff(b"Ein Bericht \xc3\xbcber %PDF-Dateien.") is None  # text that mentions it


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bericht.md", "pdf", "file name says Markdown (.md) but the content is a PDF"),
        ("bericht.docx", "pdf", "file name says Word (.docx) but the content is a PDF"),
        ("bericht.pdf", "docx", "file name says PDF (.pdf) but the content is a Word document"),
        ("bericht.TXT", "docx", "file name says text (.TXT) but the content is a Word document"),
        ("bericht.txt", "zip", "but the content is a ZIP archive; unpack it first"),
        ("bericht.pdf", "ole", "but the content is an old binary Office file (.doc, .xls)"),
    ],
)
def test_content_that_contradicts_the_suffix_names_both(name: str, content: str, message: str):
    data = {
        "pdf": pdf_bytes(MULTI_PAGE[:1]),
        "docx": make_docx(),
        "zip": zip_of("notiz.txt"),
        "ole": OLE2,
    }[content]

    err = extraction_error(sample(name, data))

    assert err.code == "type_mismatch"
    assert message in str(err)
    assert "Dateiname sagt" in err.german


def test_mismatch_hint_says_what_to_do() -> None:
    err = extraction_error(sample("bericht.txt", pdf_bytes(MULTI_PAGE[:1])))

    assert str(err) == (
        "file name says text (.txt) but the content is a PDF (binary data, not text); "
        "rename it to .pdf"
    )
    assert err.german == (
        "Dateiname sagt Text (.txt), der Inhalt ist aber ein PDF (Binärdaten, kein Text); "
        "in .pdf umbenennen"
    )


def test_text_mentioning_pdf_is_still_text() -> None:
    text = "Wir verschicken den Bericht als %PDF-1.7 Datei."

    assert extract_sample(sample("notiz.txt", text.encode())).text == text


# --------------------------------------------------------------------------- junk rule


def test_junk_share_counts_characters_in_runs_longer_than_64() -> None:
    assert junk_share("ein ganz normaler Satz") == 0.0
    assert junk_share("a" * 64) == 0.0
    assert junk_share("a" * 65) == 1.0
    assert junk_share("a" * 65 + " " + "b" * 65) == 1.0
    assert junk_share("a" * 100 + " " + "b " * 50) == 100 / 150


def test_junk_rule_boundary_half_is_still_text() -> None:
    half = "x" * 100 + " " + " ".join(["wort"] * 25)  # 100 of 200 characters in a long run

    assert junk_share(half) == 0.5
    assert extract_sample(sample("halb.txt", half.encode())).text == half
    with pytest.raises(ExtractionError) as info:
        extract_bytes(("x" * 102 + " " + " ".join(["wort"] * 25)).encode(), "mehr.txt", LIMITS)
    assert info.value.code == "junk_text"


def test_high_bytes_are_junk_not_text() -> None:
    err = extraction_error(sample("hoch.txt", bytes(range(0x80, 0x100)) * 400))  # 50 KB

    assert err.code == "junk_text"
    assert str(err) == (
        "not readable text: 100% of its characters are in 'words' longer than 64 characters "
        "(limit 50%)"
    )
    assert err.german.startswith("kein lesbarer Text: 100% der Zeichen")


def test_one_huge_line_of_letters_and_digits_is_junk_and_quick() -> None:
    line = "".join(random.Random(4).choices("abcdefghijklmnopqrstuvwxyz0123456789", k=2**21))

    started = time.perf_counter()
    err = extraction_error(sample("zeile.txt", line.encode()))

    assert err.code == "junk_text"
    assert time.perf_counter() - started < 10  # was minutes of chunking and embedding


def test_urls_and_long_compounds_in_real_text_are_fine() -> None:
    text = (
        "Mehr unter https://example.org/berichte/2021/wasserstoff-forum-emsland-dokumentation.pdf "
        "zur Donaudampfschifffahrtsgesellschaftskapitänswitwe und dem Rest des Berichts. " * 5
    )
    assert junk_share(text) < 0.5
    assert extract_sample(sample("links.txt", text.encode())).text == text.strip()


def test_the_bundled_corpus_is_far_from_junk() -> None:
    corpus = FIXTURES.parents[1] / "corpus"
    files = [p for p in corpus.iterdir() if p.suffix in SUPPORTED_SUFFIXES]
    assert len(files) >= 20
    for path in files:
        assert junk_share(extract_bytes(path.read_bytes(), path.name, LIMITS).text) < 0.05, (
            path.name
        )


# --------------------------------------------------------------------------- errors


def test_extraction_errors_are_kb_errors_with_a_known_code() -> None:
    err = extraction_error(sample("leer.txt", b""))

    assert isinstance(err, KBError)
    assert err.code == "empty" and err.code in CODES
    assert (str(err), err.german) == ("file is empty", "Datei ist leer")
    with pytest.raises(ValueError):
        ExtractionError("no_such_code", "x", "y")
