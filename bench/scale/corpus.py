"""Deterministic German report corpora for the scale benchmark.

Reports are recombined at run time from the sentences of the bundled corpus (``corpus/``)
and, when it is there, of the gnad-dev news articles in ``../shared/bench`` (third-party
text that is read, never committed). Each report is Markdown with front matter, a title
and 2-6 sections; a section is a heading and one paragraph of 450-900 characters, which
our chunker (ingest/chunk.py, 1,000 characters per passage) keeps as exactly one passage.
So a corpus promises its number of reports or, for the 100k-passage corpus, its number of
passages. Report ``i`` depends only on the seed and ``i``: a smaller corpus is a prefix of
a larger one, and the same seed gives the same bytes.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.formats import ExtractionError, Limits, extract_bytes
from search.settings import Settings
from search.text import is_heading, split_sentences

#: passages per report 2..6, weighted to the mean of the issue's news set (3.4 per article)
PASSAGE_WEIGHTS = {2: 27, 3: 32, 4: 22, 5: 12, 6: 7}
BODY_MIN_CHARS = 450
BODY_MAX_CHARS = 900
#: share of reports whose text starts in one of our reports rather than a news article
OWN_SHARE = 0.35

_SENTENCE_MIN, _SENTENCE_MAX = 40, 350
_SENTENCE_ENDS = tuple('.!?“”"»')
# sentences that would turn into Markdown structure or tables are left out
_MARKUP_START = re.compile(r"^(?:[#>*+|\-]|\d{1,3}[.)]\s)")

EVENT_KINDS = [
    "Forum",
    "Netzwerktreffen",
    "Workshop",
    "Fachtagung",
    "Werkstattgespräch",
    "Regionalkonferenz",
    "Unternehmerfrühstück",
    "Dialogabend",
    "Innovationstag",
    "Praxisforum",
]
LOCATIONS = [
    "Lingen (Ems)",
    "Bielefeld",
    "Paderborn",
    "Saarbrücken",
    "Dortmund",
    "Duisburg",
    "Kassel",
    "Chemnitz",
    "Zwickau",
    "Magdeburg",
    "Rostock",
    "Kiel",
    "Osnabrück",
    "Oldenburg",
    "Heilbronn",
    "Ulm",
    "Regensburg",
    "Ingolstadt",
    "Jena",
    "Erfurt",
    "Cottbus",
    "Siegen",
    "Hagen",
    "Wolfsburg",
    "Salzgitter",
    "Ludwigshafen",
    "Mannheim",
    "Augsburg",
    "Würzburg",
    "Bremerhaven",
]
ORGANISER_FORMS = [
    "Industrieinitiative {region}",
    "Netzwerk Industrie {region} e. V.",
    "Wirtschaftsförderung {region}",
    "Zukunftsbündnis Industrie {region}",
    "Arbeitskreis Industrie {region}",
]
SECTION_HEADINGS = [
    "Ausgangslage",
    "Erfahrungen aus den Betrieben",
    "Diskussion im Plenum",
    "Nächste Schritte",
    "Ergebnisse der Arbeitsgruppen",
    "Blick nach vorn",
    "Praxisbeispiele aus der Region",
    "Fragen aus dem Publikum",
    "Förderung und Finanzierung",
    "Was die Politik tun kann",
    "Stimmen der Teilnehmenden",
    "Fazit",
]
TITLE_FORMS = [
    "{topic}: {kind} in {location}",
    "{kind} {location} {year}: {topic} im Fokus",
    "{topic} in der Region – {kind} in {location}",
    "Wie {location} {topic} voranbringt",
]
FALLBACK_TOPICS = ["Wasserstoff", "Fachkräfte", "Digitalisierung", "Kreislaufwirtschaft"]
_MONTHS = (
    "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()
)


@dataclass(frozen=True)
class Sources:
    """Sentences to recombine (per source document, in order) and topic names."""

    documents: list[list[str]]
    topics: list[str]
    origins: dict[str, int]  # source name -> documents taken from it
    #: the first ``own`` documents are our reports; ``doc_topics`` has their topics
    own: int = 0
    doc_topics: tuple[tuple[str, ...], ...] = ()

    @property
    def sentences(self) -> int:
        """Number of sentences available."""
        return sum(len(d) for d in self.documents)


@dataclass(frozen=True)
class CorpusSpec:
    """How large a corpus is: a number of reports, or of passages (``passages`` set)."""

    label: str
    reports: int | None = None
    passages: int | None = None

    def passage_plan(self, seed: int) -> list[int]:
        """Passages of each report, in order (deterministic)."""
        if self.passages is not None:
            return plan_for_passages(self.passages, seed)
        return [passages_of_report(seed, i) for i in range(self.reports or 0)]


@dataclass(frozen=True)
class CorpusInfo:
    """What a generated corpus holds."""

    folder: Path
    reports: int
    passages: int
    bytes: int


def parse_size(text: str) -> CorpusSpec:
    """``"1k"``/``"3000"`` are numbers of reports, ``"100kp"`` a number of passages."""
    raw = text.strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(k?)(p?)", raw)
    if not match:
        raise ValueError(f"size {text!r}: use a number of reports (1000, 3k) or passages (100kp)")
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    count = int(round(value))
    if match.group(3):
        if count < 2:
            raise ValueError(f"size {text!r}: at least 2 passages")
        return CorpusSpec(label=f"{_short(count)} passages", passages=count)
    if count < 1:
        raise ValueError(f"size {text!r}: at least 1 report")
    return CorpusSpec(label=f"{_short(count)} reports", reports=count)


def _short(count: int) -> str:
    return f"{count // 1000}k" if count >= 1000 and count % 1000 == 0 else f"{count:,}"


def passages_of_report(seed: int, index: int) -> int:
    """The number of passages of report ``index`` (2-6)."""
    rng = random.Random(f"{seed}:passages:{index}")
    return rng.choices(list(PASSAGE_WEIGHTS), weights=list(PASSAGE_WEIGHTS.values()))[0]


def plan_for_passages(total: int, seed: int) -> list[int]:
    """Passages per report summing to exactly ``total``; the last reports absorb the rest."""
    plan: list[int] = []
    remaining = total
    while remaining > 0:
        count = passages_of_report(seed, len(plan))
        if remaining - count < 2 and remaining - count != 0:
            # never leave a single passage over: a report has at least two
            count = remaining if remaining <= max(PASSAGE_WEIGHTS) else remaining - 2
        plan.append(count)
        remaining -= count
    return plan


def _usable(sentence: str) -> bool:
    text = sentence.strip()
    return (
        _SENTENCE_MIN <= len(text) <= _SENTENCE_MAX
        and "\n" not in text
        and "|" not in text
        and text.endswith(_SENTENCE_ENDS)
        and (text[0].isupper() or text[0] in '„"»')
        and not _MARKUP_START.match(text)
    )


def _sentences_of(text: str) -> list[str]:
    paragraphs = [p for p in text.split("\n\n") if p.strip() and not is_heading(p)]
    out: list[str] = []
    for paragraph in paragraphs:
        out += [s for s in split_sentences(" ".join(paragraph.split())) if _usable(s)]
    return out


def _own_reports(corpus: Path) -> Iterable[tuple[bytes, str]]:
    """Text files of the bundled corpus and the sources of its PDFs."""
    for pattern in ("*.md", "*.txt", "_pdf/src/*.md"):
        for path in sorted(corpus.glob(pattern)):
            yield path.read_bytes(), path.name


def load_sources(corpus: Path, gnad: Path | None = None) -> Sources:
    """Sentences of ``corpus`` (our reports) and of gnad's ``corpus.jsonl`` if given.

    Raises ValueError when there is too little text to build reports from.
    """
    documents: list[list[str]] = []
    doc_topics: list[tuple[str, ...]] = []
    origins = {"corpus": 0, "gnad-dev": 0}
    for data, name in _own_reports(corpus):
        try:
            extracted = extract_bytes(data, name, Limits.from_settings(Settings()))
        except ExtractionError:
            continue  # a damaged file of the corpus only means less text
        sentences = _sentences_of(extracted.text)
        if sentences:
            documents.append(sentences)
            doc_topics.append(tuple(_clean_topics(extracted.metadata.get("topics") or [])))
            origins["corpus"] += 1
    if gnad is not None and gnad.is_file():
        with gnad.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                sentences = _sentences_of(json.loads(line).get("text", ""))
                if sentences:
                    documents.append(sentences)
                    origins["gnad-dev"] += 1
    if sum(len(d) for d in documents) < 50:
        raise ValueError(f"too little text to build reports from (corpus {corpus}, gnad {gnad})")
    topics = sorted({t for ts in doc_topics for t in ts}) or FALLBACK_TOPICS
    return Sources(documents, topics, origins, origins["corpus"], tuple(doc_topics))


def _clean_topics(topics: Iterable[object]) -> list[str]:
    # topics with a comma or very long ones make odd titles
    return [str(t) for t in topics if "," not in str(t) and 3 <= len(str(t)) <= 40]


class _Reader:
    """Walks sentences from a random position of a random source document onwards."""

    def __init__(self, sources: Sources, rng: random.Random) -> None:
        self.sources = sources
        self.rng = rng
        self._jump()

    def _jump(self) -> None:
        own, total = self.sources.own, len(self.sources.documents)
        # our reports are few but on topic: a third of the reports start from one
        if own and (own == total or self.rng.random() < OWN_SHARE):
            self.doc = self.rng.randrange(own)
        else:
            self.doc = self.rng.randrange(own, total)
        self.pos = self.rng.randrange(len(self.sources.documents[self.doc]))

    def topics(self) -> tuple[str, ...]:
        """Topics of the document being read (ours only; news articles have none)."""
        if self.doc < len(self.sources.doc_topics):
            return self.sources.doc_topics[self.doc]
        return ()

    def next(self) -> str:
        sentences = self.sources.documents[self.doc]
        if self.pos >= len(sentences):
            self._jump()
            sentences = self.sources.documents[self.doc]
        self.pos += 1
        return sentences[self.pos - 1]

    def stray(self) -> str:
        """One sentence from elsewhere: varies copies of the same source window."""
        doc = self.sources.documents[self.rng.randrange(len(self.sources.documents))]
        return doc[self.rng.randrange(len(doc))]


def _body(reader: _Reader, rng: random.Random, lead: str = "") -> str:
    target = rng.randint(BODY_MIN_CHARS, BODY_MAX_CHARS)
    parts = [lead] if lead else []
    length = len(lead)
    misses = 0
    while length < target and misses < 50:
        sentence = reader.stray() if rng.random() < 0.15 else reader.next()
        added = len(sentence) + (1 if parts else 0)
        if length + added > BODY_MAX_CHARS:
            misses += 1
            continue
        parts.append(sentence)
        length += added
    if length < BODY_MIN_CHARS:  # only with pathological sources; keeps the passage promise
        raise ValueError("source sentences too long to fill a section")
    return " ".join(parts)


def render_report(sources: Sources, seed: int, index: int, passages: int) -> str:
    """Markdown of report ``index`` with ``passages`` sections (one passage each)."""
    rng = random.Random(f"{seed}:report:{index}")
    reader = _Reader(sources, rng)
    topics = list(reader.topics()) or rng.sample(sources.topics, min(2, len(sources.topics)))
    topic = rng.choice(topics)
    second = rng.choice(sources.topics)
    kind = rng.choice(EVENT_KINDS)
    location = rng.choice(LOCATIONS)
    region = location.split(" (")[0]
    year = rng.randint(2015, 2025)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    event = f"{kind} {topic} {region} {year}"
    title = rng.choice(TITLE_FORMS).format(topic=topic, kind=kind, location=region, year=year)
    front = {
        "title": title,
        "date": f"{year}-{month:02d}-{day:02d}",
        "event": event,
        "location": location,
        "organiser": rng.choice(ORGANISER_FORMS).format(region=region),
        "topics": sorted({topic, second}),
        "language": "de",
    }
    lines = ["---"]
    for key, value in front.items():
        # JSON strings are valid YAML scalars, whatever the text holds
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    lines += ["---", "", f"# {title}", ""]
    lead = (
        f"Am {day}. {_MONTHS[month - 1]} {year} trafen sich in {region} Unternehmen, "
        f"Kommunen und Verbände. Anlass war die Veranstaltung „{event}“."
    )
    lines += [_body(reader, rng, lead), ""]
    for heading in rng.sample(SECTION_HEADINGS, passages - 1):
        lines += [f"## {heading}", "", _body(reader, rng), ""]
    return "\n".join(lines)


def existing_corpus(spec: CorpusSpec, folder: Path, seed: int) -> CorpusInfo:
    """What ``build_corpus`` wrote into ``folder`` earlier for ``spec`` and ``seed``.

    Raises ValueError when the folder does not hold that many reports.
    """
    plan = spec.passage_plan(seed)
    files = sorted(folder.glob("bericht-*.md")) if folder.is_dir() else []
    if len(files) != len(plan):
        raise ValueError(f"{folder} holds {len(files)} reports, not the {len(plan)} of {spec}")
    return CorpusInfo(folder, len(plan), sum(plan), sum(f.stat().st_size for f in files))


def build_corpus(spec: CorpusSpec, folder: Path, sources: Sources, seed: int) -> CorpusInfo:
    """Write the reports of ``spec`` into ``folder`` (must not exist or be empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise ValueError(f"corpus folder {folder} is not empty")
    plan = spec.passage_plan(seed)
    written = 0
    width = max(6, len(str(len(plan))))
    for index, passages in enumerate(plan):
        text = render_report(sources, seed, index, passages).encode("utf-8")
        (folder / f"bericht-{index:0{width}d}.md").write_bytes(text)
        written += len(text)
    return CorpusInfo(folder, len(plan), sum(plan), written)
