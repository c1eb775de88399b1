"""German-aware lexical analysis for the BM25 index (SQLite FTS5).

Every emitted term is a plain lowercase ASCII ``[a-z0-9]+`` token, so the FTS5 table can
keep its default ``unicode61`` tokenizer and store the terms of a chunk joined by spaces.
Passages and queries go through the same pipeline:

1. tokenize into words (letters, digits, combining marks), keeping hyphenated groups
   (``E-Mobilität``) as pieces plus their joined form. Composed and decomposed Unicode
   (NFC/NFD) give the same terms; the text is not normalised, so spans stay valid;
2. lowercase and fold to ASCII: ä/ae -> a, ö/oe -> o, ü/ue -> u, ß -> ss, other
   diacritics stripped, so "Fachkräfte", "Fachkraefte" and "fachkrafte" meet. Folding
   comes before splitting so that the word list also finds "Fachkraefte-";
3. drop German and English stop words;
4. split compounds (``Wasserstoffstrategie`` -> wasserstoff + strategie) recursively
   with a splitter over the German word list (with frequencies) that ``pyspellchecker``
   ships; no domain dictionary, nothing downloaded;
5. stem with the Snowball German stemmer (PyStemmer); its output is ASCII already.

A word yields its whole stem and, if it is a compound, the stems of its parts, so an
exact compound match still scores highest. ``chunk_fields`` keeps the two apart for a
layout with a separate FTS5 column for parts. Splits depend on the word list: a new
pyspellchecker dictionary means re-indexing.
"""

from __future__ import annotations

import ctypes
import math
import re
import sys
import threading
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import Stemmer

__all__ = ["ANALYZER_VERSION", "Analyzer", "Term", "fold", "spans_of", "split_compound"]

#: Recorded in an index's manifest: terms written by another version do not match this
#: one's queries, so opening such an index asks for ``kb reindex``. Bump it whenever
#: folding, stop words, compound splitting, stemming or the word list change the terms.
ANALYZER_VERSION = "de-1"

# -- tokenizing ------------------------------------------------------------------------

# A word: letters/digits, with combining marks kept inside (decomposed input such as
# "a\u0308"); pieces joined by hyphens form one group.
_W = r"(?:[^\W_]|[\u0300-\u036f])+"
_GROUP = re.compile(rf"{_W}((?:[-\u2010\u2011]{_W})+)?")
_PIECE = re.compile(_W)
# The same where a text has no underscore (nearly all): one character class instead of
# an alternation per character, a third of the time (group 1: the hyphenated pieces).
_W_PLAIN = r"[\w\u0300-\u036f]+"
_GROUP_PLAIN = re.compile(rf"{_W_PLAIN}((?:[-\u2010\u2011]{_W_PLAIN})+)?")

# Per-character folds that NFKD does not give (or gives wrong for German).
_CHAR_FOLD = dict(
    pair.split(":") for pair in "ä:a ö:o ü:u ß:ss ẞ:ss æ:ae œ:oe ø:o ł:l đ:d ð:d þ:th ı:i".split()
)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """Lowercase ASCII form of one character ('' if it has none, e.g. Greek or CJK)."""
    low = ch.lower()
    if low in _CHAR_FOLD:
        return _CHAR_FOLD[low]
    if low.isascii():
        return low if low.isalnum() else ""
    if not unicodedata.category(ch).startswith("L"):
        # other digits (², ₂, Arabic-Indic) keep their value; fractions and marks go
        d = unicodedata.digit(ch, None)
        return str(d) if d is not None else ""
    decomposed = unicodedata.normalize("NFKD", low)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def _fold(word: str) -> tuple[str, list[tuple[int, int]]]:
    """Fold a word to ASCII; also return, per folded char, its (start, end) in ``word``.

    Umlauts written as digraphs (ae, oe, ue; not after q or a vowel) collapse to the
    base vowel, much as the Snowball German stemmer does, so folded forms of
    "Fachkräfte" and "Fachkraefte" are equal already before compound splitting.
    """
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(word):
        folded = _fold_char(ch)
        if not folded and spans and spans[-1][1] == i and unicodedata.combining(ch):
            # a combining mark (decomposed "a\u0308") belongs to its base letter's span
            spans[-1] = (spans[-1][0], i + 1)
        for c in folded:
            if c == "e" and chars and chars[-1] in "aou" and spans[-1][1] == i:
                # not after q (Quelle) or a vowel (Frauen, Steuer, Kakaoernte)
                if not (len(chars) > 1 and chars[-2] in "aeiouyq"):
                    # digraph umlaut: widen the vowel's span over the 'e'
                    spans[-1] = (spans[-1][0], i + 1)
                    continue
            chars.append(c)
            spans.append((i, i + 1))
    return "".join(chars), spans


@lru_cache(maxsize=1 << 17)
def fold(word: str) -> str:
    """ASCII folding of a word as used for terms (lowercase, umlauts and ß folded)."""
    return _fold(word)[0]


# -- stop words ------------------------------------------------------------------------

# Compact lists: function words only. German content words that are English stop words
# elsewhere ("not" = Not, "art" = Art) are left out on purpose.
_GERMAN_STOP = """
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
anderes andern anders auch auf aus bei beim bin bis bist bzw ca da dabei dadurch daher
damit danach dann darauf daran darin darum darüber das dass dasselbe davon dazu dein
deine deinem deinen deiner dem demselben den denen denn denselben der deren derer
derselbe derselben des desselben dessen dich die dies diese dieselbe dieselben diesem
diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines einige
einigem einigen einiger einiges einmal er es etwa etwas euch euer eure eurem euren eurer
für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr
ihre ihrem ihren ihrer ihres im in indem ins ist ja jede jedem jeden jeder jedes jene
jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines können konnte
könnte man manche manchem manchen mancher manches mehr mein meine meinem meinen meiner
mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne schon sehr sei
seien sein seine seinem seinen seiner seit sich sie sind so solche solchem solchen
solcher soll sollen sollte sondern sonst sowie über um und uns unser unsere unserem
unseren unter viel viele vielen vom von vor während wann war waren warum was weg weil
welche welchem welchen welcher welches wem wen wenn wer werde werden wessen wie wieder
will wir wird wo wurde wurden würde würden zu zum zur zwar zwischen
"""
_ENGLISH_STOP = """
a about above after again against all am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in
into is it its itself just many me more most much my myself no nor of off on once only
or other our ours out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very
was we were what when where which while who whom whose why will with would you your
yours yourself
"""
STOP_WORDS: frozenset[str] = frozenset(fold(w) for w in (_GERMAN_STOP + _ENGLISH_STOP).split())

# -- compound splitting ----------------------------------------------------------------

#: shortest compound part (surface letters): shorter bits are mostly prefixes or noise
MIN_PART = 4
#: longest word that is split: German compounds stay far below; longer letter runs are
#: noise (splitting costs time quadratic in the length)
MAX_COMPOUND_CHARS = 80
# Linking elements (Fugenelemente) that may end a modifier: Beratung-s-stelle,
# Bund-es-regierung, Sonne-n-energie. Not -er-: the plural (Kinder-garten) is a word
# already, and stripping it gives false parts (Förder- as "Ford").
_LINKERS = ("ens", "es", "en", "s", "n", "e")
# A known word after a prefix is a derivation, not a compound: "Verbrauch" is not
# "verb" + "rauch", "Aufstand" not "aufs" + "tand", "Mitwirkende" not "mitwirk" + "ende".
_PREFIXES = tuple(
    "be ge er ver zer ent emp miss"  # inseparable
    " ab an auf aus bei ein mit nach vor zu um weg dar her hin weiter".split()  # separable
)
# Never a compound part: particles and prepositions that form prefix verbs/nouns
# (Unter-nehmen, Gegen-stand), derivational suffixes that are also words (Wirt-schaft,
# Format-ionen, Mitwirk-ende) and the -zehn of numbers.
_NOT_PART_WORDS = """
    durch gegen hinter nach neben über unter wider wieder zurück zusammen fort voran
    voraus vorbei heraus herein hinaus hinein empor nieder entgegen gegenüber selbst
    aufs ans ins ums fürs vors übers durchs unters
    schaft schaften heit heiten keit keiten chen lein lich liche lichen licher liches
    isch ische ischen ischer isches ling linge lingen ung ungen ion ionen ende enden
    zehn
"""
_NOT_PARTS = frozenset(fold(w) for w in _NOT_PART_WORDS.split()) | STOP_WORDS
# A word ending in one of these suffixes is a derivation of its whole stem unless its
# head carries the suffix too: "Handlungen" is not "Hand" + "lungen", while
# "Rassen-trennung" is a compound.
_SUFFIXES = tuple("ungen ung heiten heit keiten keit schaften schaft innen".split())

#: pyspellchecker gives words it has not counted in its subtitle corpus a count of 50;
#: a known word above that is common in everyday language
_FLOOR = math.log(50) + 1e-6
_LEXICON: Lexicon | None = None
_LEXICON_LOCK = threading.Lock()


class Lexicon:
    """Folded word forms -> log frequency, read-only: the keys in a compact trie
    (marisa-trie, 0.7 MB for ~336k forms) and the values in a list indexed by key id.

    As a dict the same forms held 26 MB in every process, and building it left another
    ~50 MB of freed but unreturned memory behind. Lookups cost about the same: compound
    splitting of 27,859 distinct words took 0.33 s against 0.30 s with the dict.
    """

    __slots__ = ("_ids", "_logs")

    def __init__(self, logs: dict[str, float]) -> None:
        import marisa_trie

        self._ids = marisa_trie.Trie(logs)
        values = [0.0] * len(self._ids)
        for word, value in logs.items():
            values[self._ids[word]] = value
        self._logs = values

    def __contains__(self, word: object) -> bool:
        return word in self._ids

    def __getitem__(self, word: str) -> float:
        return self._logs[self._ids[word]]

    def __len__(self) -> int:
        return len(self._logs)

    def get(self, word: str, default: float | None = None) -> float | None:
        """The log frequency of ``word``, or ``default`` if the list does not know it."""
        i = self._ids.get(word)
        return default if i is None else self._logs[i]


def give_back_freed_memory() -> None:
    """Return freed heap pages to the system (glibc only; elsewhere nothing happens).

    Building the lexicon frees tens of MB of large temporary tables in the middle of the
    heap, which glibc keeps for reuse: measured 26 MB more resident per process."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # a C library without malloc_trim (musl)
        pass


def _lexicon() -> Lexicon:
    """Folded German word forms -> log frequency, built once from pyspellchecker's list.

    The list has ~340k forms (a full-form dictionary, so it knows inflected forms and
    many compounds) with subtitle frequencies for the ~18k common ones; it ships with the
    package, so nothing is downloaded.
    """
    global _LEXICON
    if _LEXICON is None:
        with _LEXICON_LOCK:
            if _LEXICON is None:
                from spellchecker import SpellChecker

                counts = SpellChecker(language="de", distance=1).word_frequency.dictionary
                lex: dict[str, float] = {}
                logs: dict[int, float] = {}  # one float object per count: saves memory
                for word, count in counts.items():
                    if len(word) >= 3 and word.isalpha():
                        # uncached: the 336k forms would fill fold's cache (26 MB)
                        key = _fold(word)[0]
                        logf = logs.setdefault(count, math.log(max(int(count), 1)))
                        if logf > lex.get(key, -1.0):
                            lex[key] = logf
                del counts
                _LEXICON = Lexicon(lex)
                del lex
                give_back_freed_memory()
    return _LEXICON


def _is_part(word: str) -> bool:
    return len(word) >= MIN_PART and word not in _NOT_PARTS and word in _lexicon()


def _modifier_form(surface: str) -> tuple[str, int, int] | None:
    """The dictionary form a modifier stands for: (form, surface end, linker letters).

    A Fugen-s is preferred over a genitive ("Verbrauchs" is verbrauch + s), so that
    "Verbrauch|steuer" and "Bahn|steig" beat "Verbrauchs|teuer" and "Bahns|teig" on
    fewer linker letters. Otherwise the surface itself if it is a word (Maschinen-,
    Fachkräfte-), else the surface less a linker (Beratung-s-, Sonne-n-), else with an
    elided -e restored (Schul- for Schule).
    """
    for link in ("es", "s"):
        stem = surface[: -len(link)]
        # not after s: "Groß-" is gross, not "Gros" + s
        if surface.endswith(link) and not stem.endswith("s") and _is_part(stem):
            return stem, len(stem), len(link)
    if _is_part(surface):
        return surface, len(surface), 0
    for link in _LINKERS:
        stem = surface[: -len(link)]
        if surface.endswith(link) and _is_part(stem):
            return stem, len(stem), len(link)
    if surface not in _lexicon() and _is_part(surface + "e"):
        return surface + "e", len(surface), 0
    return None


_Seg = tuple[tuple[int, int, float], tuple[tuple[str, int, int], ...]]


@lru_cache(maxsize=1 << 16)
def _best_split(word: str) -> _Seg | None:
    """Best segmentation of ``word`` into two or more parts, or None.

    Returns ((parts, linker letters, -mean log frequency), parts) where each part is
    (dictionary form, start, end) with the end before any linker, and the last part is
    the head. Smaller keys are better: fewest parts first (so "Fachkräfte|mangel"
    beats "Fach|kräfte|mangel"), then fewest linker letters, then the most frequent
    parts (as Koehn & Knight).
    """
    lex = _lexicon()
    suffix = next((x for x in _SUFFIXES if word.endswith(x)), "")
    # Solve the tails shortest first: each _segment call below then finds the tails of
    # its tail cached, so the mutual recursion never goes deeper than one level,
    # however long the word.
    for i in range(len(word) - MIN_PART, MIN_PART - 1, -1):
        _segment(word[i:])
    best: _Seg | None = None
    for i in range(MIN_PART, len(word) - MIN_PART + 1):
        rest = _segment(word[i:])
        if rest is None:
            continue
        head = rest[1][-1][0]
        if suffix and not (head.endswith(suffix) and len(head) - len(suffix) >= 3):
            continue
        modifier = _modifier_form(word[:i])
        if modifier is None:
            continue
        form, end, link = modifier
        (n_rest, link_rest, neg_mean_rest), rest_parts = rest
        n = n_rest + 1
        mean = (-neg_mean_rest * n_rest + lex[form]) / n
        key = (n, link_rest + link, -mean)
        if best is None or key < best[0]:
            parts = ((form, 0, end),) + tuple((f, s + i, e + i) for f, s, e in rest_parts)
            best = (key, parts)
    return best


@lru_cache(maxsize=1 << 16)
def _segment(word: str) -> _Seg | None:
    """Best segmentation of a word tail: the word itself if known, else its best split."""
    if _is_part(word):
        return ((1, 0, -_lexicon()[word]), ((word, 0, len(word)),))
    return _best_split(word)


@lru_cache(maxsize=1 << 17)
def split_compound(word: str, known: bool = True) -> tuple[tuple[str, int, int], ...]:
    """Compound parts of a folded word, recursively: ((form, start, end), ...).

    ``form`` is the dictionary form of the part (``beratung`` for "Beratungs-"), start
    and end index ``word`` and exclude linking elements. Parts of parts follow their
    parent. Empty for words that are not compounds.

    Words the word list does not know are split when they can be. A known word is split
    only if ``known`` (the caller passes True for capitalised words: nouns, where
    compounds are) and it is rare: words common in everyday language
    ("ebenfalls", "alternative", "gestalten") are lexicalised or not compounds at all.
    Words longer than ``MAX_COMPOUND_CHARS`` are not split.
    """
    if not 2 * MIN_PART <= len(word) <= MAX_COMPOUND_CHARS or not word.isalpha():
        return ()
    lex = _lexicon()
    if word in lex and (not known or lex[word] > _FLOOR):
        return ()
    for prefix in _PREFIXES:
        rest = word[len(prefix) :]
        if word.startswith(prefix) and len(rest) >= MIN_PART and rest in lex:
            if _best_split(rest) is None:
                return ()  # prefix + simple word: Verbrauch, Beinhalten, Aufstand
    seg = _best_split(word)
    if seg is None:
        return ()
    out: list[tuple[str, int, int]] = []
    for form, start, end in seg[1]:
        out.append((form, start, end))
        for sub, s, e in split_compound(form, known):
            # a sub-part of an elided form ("schule") must not run past its surface
            if s + start < end:
                out.append((sub, s + start, min(e + start, end)))
    return tuple(out)


# -- stemming ------------------------------------------------------------------------

_STEMMERS = {"de": "german", "en": "english"}
_local = threading.local()


def _stemmer(language: str) -> Stemmer.Stemmer:
    # PyStemmer objects must not be shared between threads
    cache = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    if language not in cache:
        cache[language] = Stemmer.Stemmer(_STEMMERS[language])
    return cache[language]


# -- analysis --------------------------------------------------------------------------


class Term(NamedTuple):
    """One emitted term and the span of the original text it came from (a named tuple:
    a passage of a search hit gives a few hundred, and tuples are made fastest)."""

    term: str
    start: int
    end: int
    part: bool  # a compound part or a hyphen group's joined form (lower-weighted column)


@dataclass(frozen=True, slots=True)
class _Word:
    stem: str
    parts: tuple[tuple[str, int, int], ...]  # (stem, start, end) relative to the word


class Analyzer:
    """Lexical analyzer for the FTS5 index; the same analysis for passages and queries."""

    def __init__(self, language: str = "de") -> None:
        if language not in _STEMMERS:
            raise ValueError(f"unsupported language {language!r}; use one of {sorted(_STEMMERS)}")
        self.language = language
        self.split_compounds = language == "de"
        # per-instance cache of word analyses; most words of a corpus repeat
        self._word = lru_cache(maxsize=1 << 17)(self._analyze_word)
        # searches analyse the passages they show again and again: keep the last ones
        self._text_terms = lru_cache(maxsize=512)(self._terms)

    def _stem(self, folded: str) -> str:
        stem = _stemmer(self.language).stemWord(folded)
        # the stemmer keeps ASCII input ASCII; guard anyway, terms must be [a-z0-9]+
        return stem if stem.isascii() and stem.isalnum() else fold(stem)

    def _analyze_word(self, word: str, query: bool) -> _Word | None:
        """Whole-word stem and compound parts of one word, or None for a dropped word."""
        folded, spans = _fold(word)
        if not folded or folded in STOP_WORDS:
            return None
        if len(folded) == 1 and not folded.isdigit():
            return None  # single letters ("E" of E-Mobilität, "s" of Kuechly's)
        parts: list[tuple[str, int, int]] = []
        if self.split_compounds:
            seen = set()
            # In passages a known word is split only when capitalised (a noun): that keeps
            # "demografische", "transformation" whole. Query words are split as nouns,
            # since people type queries in lowercase.
            for form, s, e in split_compound(folded, query or word[:1].isupper()):
                stem = self._stem(form)
                if (stem, s) not in seen:
                    seen.add((stem, s))
                    parts.append((stem, spans[s][0], spans[e - 1][1]))
        return _Word(self._stem(folded), tuple(parts))

    def terms(self, text: str, query: bool = False) -> list[Term]:
        """All terms of ``text`` in order, with their spans in ``text``.

        A word gives its whole stem, then its compound parts. A hyphenated group gives
        each piece (with its parts) and then the joined form ("emobilitat") as a part.
        ``query`` analyses a query: lowercase words are split like capitalised ones.
        """
        return list(self._text_terms(text, query))

    def _terms(self, text: str, query: bool) -> tuple[Term, ...]:
        out: list[Term] = []
        word_of = self._word
        make = tuple.__new__  # Term(...) without its Python-level __new__: half the time
        for group in (_GROUP if "_" in text else _GROUP_PLAIN).finditer(text):
            if group.lastindex is not None:  # pieces joined by hyphens: rare
                out.extend(self._group_terms(group, query))
                continue
            g0, g1 = group.span()
            w = word_of(group.group(), query)  # one piece: most words
            if w is not None:
                out.append(make(Term, (w.stem, g0, g1, False)))
                for stem, s, e in w.parts:
                    out.append(make(Term, (stem, g0 + s, g0 + e, True)))
        return tuple(out)

    def _group_terms(self, group: re.Match, query: bool) -> Iterator[Term]:
        """The terms of a hyphenated group: each piece's, then the joined form."""
        g0 = group.start()
        whole = group.group()
        pieces = list(_PIECE.finditer(whole))
        joined = []
        for piece in pieces:
            w = self._word(piece.group(), query)
            if w is None:
                folded = fold(piece.group())
                if folded:
                    joined.append(folded)
                continue
            s0 = g0 + piece.start()
            yield Term(w.stem, s0, g0 + piece.end(), False)
            for stem, s, e in w.parts:
                yield Term(stem, s0 + s, s0 + e, True)
            joined.append(fold(piece.group()))
        if len(pieces) > 1 and len(joined) > 1:
            yield Term(self._stem("".join(joined)), g0, group.end(), True)

    def marked(
        self, text: str, wanted: Collection[str], present_of: Collection[str]
    ) -> tuple[list[tuple[int, int]], set[str]]:
        """``spans_of(self.terms(text), wanted)``, and the terms of ``present_of`` that
        ``text`` has (``wanted`` is part of ``present_of``).

        The same analysis as ``terms``, but without a ``Term`` for every word: a search
        does this for each hit it shows, and making the terms took half the time.
        """
        hits: list[tuple[int, int]] = []
        present: set[str] = set()
        word_of = self._word
        for group in (_GROUP if "_" in text else _GROUP_PLAIN).finditer(text):
            if group.lastindex is not None:
                for t in self._group_terms(group, False):
                    if t.term in present_of:
                        present.add(t.term)
                        if t.term in wanted:
                            hits.append((t.start, t.end))
                continue
            w = word_of(group.group(), False)
            if w is None:
                continue
            if w.stem in present_of:
                present.add(w.stem)
                if w.stem in wanted:
                    hits.append(group.span())
            if w.parts:
                g0 = group.start()
                for stem, s, e in w.parts:
                    if stem in present_of:
                        present.add(stem)
                        if stem in wanted:
                            hits.append((g0 + s, g0 + e))
        return merge_spans(hits), present

    def index_terms(self, text: str) -> list[str]:
        """Terms to index for a passage, in order, repetitions kept (BM25 needs tf).

        Includes compound parts and joined hyphen groups.
        """
        return [t.term for t in self.terms(text)]

    def chunk_fields(self, text: str) -> tuple[str, str]:
        """The passage's (whole-word terms, part terms), each joined by spaces.

        For an FTS5 table with the parts in their own column and a lower bm25 weight.
        """
        terms = self.terms(text)
        whole = " ".join(t.term for t in terms if not t.part)
        return whole, " ".join(t.term for t in terms if t.part)

    def query_terms(self, text: str) -> list[str]:
        """Unique terms of a query, in order of first appearance."""
        return list(dict.fromkeys(t.term for t in self.terms(text, query=True)))

    def query_words(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """The words of a query in order: (whole term, its compound parts). Flattened,
        they are ``query_terms``."""
        words: list[tuple[str, list[str]]] = []
        for t in self.terms(text, query=True):
            if t.part and words:
                words[-1][1].append(t.term)
            else:
                words.append((t.term, []))
        return [(whole, tuple(parts)) for whole, parts in words]

    def match_spans(self, text: str, query: str) -> list[tuple[int, int]]:
        """Spans of ``text`` to mark for ``query``: sorted, non-overlapping.

        A word whose stem is a query term is marked whole; inside a compound only the
        matching part is ("Wasserstoff" in "Wasserstoffstrategie"). Spans index the
        original ``text``.
        """
        wanted = set(self.query_terms(query))
        if not wanted:
            return []
        return spans_of(self.terms(text), wanted)


def spans_of(terms: list[Term], wanted: set[str]) -> list[tuple[int, int]]:
    """The spans of ``terms`` that are in ``wanted``, sorted, touching ones merged."""
    return merge_spans([(t.start, t.end) for t in terms if t.term in wanted])


def merge_spans(hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``hits`` sorted, overlapping and touching spans merged into one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(hits):
        if merged and start <= merged[-1][1]:
            # overlapping or touching (part inside a marked word, adjacent parts)
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
