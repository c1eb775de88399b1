"""A folder of hostile files through ``python -m api.cli ingest``, as a real subprocess.

Each bad file here once crashed a whole ``kb ingest`` run with a traceback, so the
files after it were never read. Now each costs one line; the good files beside them,
and an AES-256 PDF with an empty password, are added; the exit status is 1; and the
run stays within 800 MB of memory although one .docx unpacks to 1 GiB.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from search.kb import KnowledgeBase
from search.settings import Settings

from .formats.samples import (
    LONG_PARAGRAPH,
    MULTI_PAGE,
    SECOND_PARAGRAPH,
    aes_pdf,
    make_docx,
    many_members_docx,
    pdf_bytes,
    zip_bomb_docx,
)

ROOT = Path(__file__).resolve().parents[2]
MAX_RSS_MB = 800

# Runs the command given and reports the peak memory of that child, measured by the
# kernel (a fresh process: no earlier children count).
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
print("MAXRSS_KB=%d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""

PROSE = " ".join([LONG_PARAGRAPH, SECOND_PARAGRAPH] * 12)  # about 6,000 characters

# file (or folder) name -> (line prefix, what the line says)
BAD = {
    "datum-30-februar.md": (
        "FAILED",
        "invalid YAML front matter: '2021-02-30' is not a valid date",
    ),
    "datum-monat-13.md": ("FAILED", "invalid YAML front matter: '2021-13-01' is not a valid date"),
    "zahl-im-kopf.md": ("FAILED", "number too long (more than 4300 digits)"),
    "bytes-80-ff.txt": ("FAILED", "not readable text: 100% of its characters"),
    "eine-zeile.txt": ("FAILED", "not readable text: 100% of its characters"),
    "bombe.docx": ("FAILED", "DOCX file unpacks to more than 200 MB"),
    "viele-teile.docx": ("FAILED", "DOCX file has more than 1000 parts"),
    "pdf-als.txt": ("FAILED", "file name says text (.txt) but the content is a PDF"),
    "gesperrt": ("FAILED", "cannot read folder (permission denied)"),
    "passwd.txt": ("SKIPPED", "symbolic link leads outside the folder (to /etc/passwd)"),
}
GOOD = {
    "gut-markdown.md": "gut-markdown",
    "gut-word.docx": "gut-word",
    "aes.pdf": "aes",
    "utf16-ohne-bom.txt": "utf16-ohne-bom",
    "zahl-im-text.txt": "zahl-im-text",
    "langes-wort.txt": "langes-wort",
    "name-\\xff.txt": "name-xff",
    "ganz-unten.txt": "ganz-unten",
}
#: a link to gut-markdown.md: inside the folder, so followed; the same file, so one report
LINKED = ("verknuepfung.md", "gut-markdown")


def write_hostile_folder(folder: Path, nested_folders) -> None:
    folder.mkdir()
    (folder / "gut-markdown.md").write_text(f"---\ntitle: Guter Bericht\n---\n{PROSE}\n")
    (folder / "gut-word.docx").write_bytes(make_docx())
    (folder / "aes.pdf").write_bytes(aes_pdf(""))
    (folder / "utf16-ohne-bom.txt").write_bytes(PROSE.encode("utf-16-le"))
    (folder / "zahl-im-text.txt").write_text(f"{PROSE} Zahl: {'7' * 5000}. {PROSE}")
    (folder / "langes-wort.txt").write_text(f"{PROSE} {'Wasserstoff' * 110} {PROSE}")
    (folder / os.fsdecode(b"name-\xff.txt")).write_text(f"{PROSE} Mit einem Namen.")
    deepest = nested_folders(folder / "tief", 1000)
    (deepest / "ganz-unten.txt").write_text(f"{PROSE} Ganz unten.")
    (folder / "verknuepfung.md").symlink_to(folder / "gut-markdown.md")

    (folder / "datum-30-februar.md").write_text(f"---\ndate: 2021-02-30\n---\n{PROSE}\n")
    (folder / "datum-monat-13.md").write_text(f"---\ndate: 2021-13-01\n---\n{PROSE}\n")
    (folder / "zahl-im-kopf.md").write_text(f"---\nid: {'9' * 5000}\n---\n{PROSE}\n")
    (folder / "bytes-80-ff.txt").write_bytes(bytes(range(0x80, 0x100)) * 400)  # 50 KB
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    line = "".join(random.Random(3).choices(alphabet, k=5 * 2**20))
    (folder / "eine-zeile.txt").write_text(line)  # 5 MB, one line, no spaces
    (folder / "bombe.docx").write_bytes(zip_bomb_docx())  # 1 MB, 1 GiB unpacked
    (folder / "viele-teile.docx").write_bytes(many_members_docx(5000))
    (folder / "pdf-als.txt").write_bytes(pdf_bytes(MULTI_PAGE[:1]))
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    locked = folder / "gesperrt"
    locked.mkdir()
    (locked / "geheim.md").write_text(PROSE)
    locked.chmod(0)


def unprivileged() -> list[str]:
    """A prefix that runs a command without root's right to read any folder."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "running as root: setpriv (util-linux) is needed to lock a folder"
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def test_every_hostile_file_costs_one_line(tmp_path: Path, nested_folders) -> None:
    folder = tmp_path / "feindlich"
    write_hostile_folder(folder, nested_folders)
    index = tmp_path / "index"
    command = [sys.executable, "-m", "api.cli", "ingest", str(folder), "--index", str(index)]
    env = {**os.environ, "KB_EMBEDDER": "fake", "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, *unprivileged(), *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=600,
        )
    finally:
        (folder / "gesperrt").chmod(0o700)
    out, err = done.stdout, done.stderr

    assert "Traceback" not in out + err, err[-3000:]
    assert done.returncode == 1, err
    lines = err.splitlines()
    # Nothing but one line per file: no warnings of pypdf or others.
    odd = [
        line
        for line in lines
        if not line.startswith(("added ", "duplicate ", "FAILED ", "SKIPPED "))
    ]
    assert not odd, odd
    for name, (prefix, says) in BAD.items():
        mentions = [line for line in lines if f"{name}:" in line]
        assert len(mentions) == 1, (name, mentions)
        assert mentions[0].startswith(f"{prefix} {folder}/") and says in mentions[0]
    added = {}
    for line in lines:
        if line.startswith("added "):
            path, doc_id = line.removeprefix("added ").strip().split(" -> ")
            added[Path(path).name] = doc_id.split(" (almost the same text as")[0]
    assert added == GOOD
    (twin,) = [line for line in lines if line.startswith("duplicate ")]
    assert twin.endswith(f"{LINKED[0]} -> {LINKED[1]} (same file as {LINKED[1]})")
    failed = sum(1 for prefix, _ in BAD.values() if prefix == "FAILED")
    total = len(GOOD) + 1 + len(BAD)
    assert (
        f"{total} files: {len(GOOD)} added, 0 updated, 0 unchanged, 1 duplicate, 1 skipped, "
        f"{failed} failed." in out
    )

    peak_kb = int(out.rsplit("MAXRSS_KB=", 1)[1])
    print(f"peak memory of the ingest run: {peak_kb / 1024:.0f} MB")
    assert peak_kb < MAX_RSS_MB * 1024

    kb = KnowledgeBase.open(Settings(index=index, embedder="fake"), create=False)
    try:
        stats = kb.stats()
        assert stats["documents"] == len(GOOD)
        assert stats["chunks"] == stats["vectors"] > 0
        assert "Wasserstofftag 2021" in kb.get_document("aes")["text"]
    finally:
        kb.close()
