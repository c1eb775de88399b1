"""Hermetic tests: every test gets its own index folder and the fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.kb import KnowledgeBase
from search.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = ROOT.parent / "shared" / "seed"

REPORTS = {
    "wasserstoff-forum.md": """---
title: Wasserstoff für die Region
date: 2021-03-04
event: Forum Wasserstoff
location: Lingen
organiser: Industrieinitiative Emsland
topics: [Wasserstoff, Energie]
---
# Wasserstoff für die Region

Beim Forum stellte die Initiative ihre Wasserstoffstrategie vor. Elektrolyseure sollen
ab 2025 grünen Wasserstoff für die Chemieindustrie und den Verkehr liefern.

Die Unternehmen diskutierten, wie Wasserstoff über Pipelines in die Region kommt und
welche Flächen für Elektrolyse am Standort bereitstehen.
""",
    "fachkraefte-treffen.md": """---
title: Fachkräfte sichern im Mittelstand
date: 2022-05-12
event: Netzwerktreffen
topics: [Fachkräfte, Ausbildung]
---
# Fachkräfte sichern im Mittelstand

Der Fachkräftemangel trifft die Betriebe hart. Ausbildungsbetriebe berichteten, wie sie
Jugendliche mit Praktika und Ausbildungsmessen für technische Berufe gewinnen.

Auch die Zuwanderung ausländischer Fachkräfte und die Anerkennung ihrer Abschlüsse
waren Thema des Netzwerktreffens.
""",
    "digitalisierung.txt": """Digitalisierung in der Produktion
Workshop am 8. Oktober 2019

Im Workshop zeigten drei Unternehmen, wie Sensorik und Datenanalyse die Fertigung
verbessern. Industrie 4.0 braucht Beschäftigte, die mit Daten umgehen können.

Ein Maschinenbauer berichtete von digitalen Zwillingen seiner Anlagen.
""",
    "kreislauf.md": """---
title: Kreislaufwirtschaft in der Kunststoffindustrie
date: 2020-02-19
topics: [Kreislaufwirtschaft, Nachhaltigkeit]
---
Recycling und Sekundärrohstoffe standen im Mittelpunkt. Die Betriebe wollen Kunststoffe
im Kreislauf führen und Abfälle vermeiden.
""",
}


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Temp index folder and the fake embedder for every test, via the environment."""
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("KB_EMBEDDER", "fake")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a fresh index with the fake embedder."""
    return Settings(index=tmp_path / "index", embedder="fake")


@pytest.fixture
def kb(settings: Settings):
    """An empty knowledge base."""
    base = KnowledgeBase.open(settings)
    yield base
    base.close()


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A folder of four small German reports (Markdown and text)."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for name, text in REPORTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def filled_kb(kb: KnowledgeBase, reports: Path) -> KnowledgeBase:
    """The knowledge base with the four small reports ingested."""
    from ingest.pipeline import ingest_files, iter_files

    report = ingest_files(kb, iter_files([reports]))
    assert report.ok, report.failed
    return kb


@pytest.fixture
def built(settings: Settings, reports: Path) -> Settings:
    """Settings of an index with the four small reports ingested (and closed again)."""
    from ingest.pipeline import ingest_files, iter_files

    base = KnowledgeBase.open(settings)
    assert ingest_files(base, iter_files([reports])).ok
    base.close()
    return settings


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (tests marked ``browser``)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "install Debian's chromium (see .ci/run)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
