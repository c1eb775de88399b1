"""YAML front matter of Markdown reports: split it off, load it safely, clean its values.

Loading never raises anything but :class:`ExtractionError`: impossible dates
(``2021-02-30``), numbers beyond Python's 4,300-digit int-string limit and nesting
too deep for PyYAML's recursion are reported like any other YAML error, with the
line where possible.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from .errors import ExtractionError
from .metadata import METADATA_KEYS, parse_date, split_topics

_METADATA_ALIASES = {
    "organizer": "organiser",
    "tags": "topics",
    "keywords": "topics",
    "url": "source_url",
    "lang": "language",
}
_YAML_KEY_RE = re.compile(r"^[A-Za-z_][\w-]*\s*:")


class _FrontMatterLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with value errors of scalars turned into YAML errors."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        """A date or timestamp; an impossible one ("2021-02-30") is a YAML error."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise _value_error(node, f"'{node.value}' is not a valid date") from exc

    def construct_yaml_int(self, node: yaml.Node) -> Any:
        """An integer; one too long to be written in decimal (4,300 digits) is a YAML error."""
        try:
            value = super().construct_yaml_int(node)
            str(value)  # cleaning needs the decimal text, which Python limits
        except ValueError as exc:
            raise _value_error(node, "number too long (more than 4300 digits)") from exc
        return value


_FrontMatterLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _FrontMatterLoader.construct_yaml_timestamp
)
_FrontMatterLoader.add_constructor("tag:yaml.org,2002:int", _FrontMatterLoader.construct_yaml_int)


def _value_error(node: yaml.Node, problem: str) -> ConstructorError:
    return ConstructorError(None, None, problem, node.start_mark)


def _invalid(english: str, german: str) -> ExtractionError:
    return ExtractionError("invalid_front_matter", english, german)


def split_front_matter(source: str) -> tuple[dict[str, Any], str]:
    """Separate YAML front matter (``---`` block at the very top) from the body.

    Returns the cleaned metadata (see :func:`clean_front_matter`) and the body.
    """
    lines = source.split("\n")
    if lines[0].strip() != "---":
        return {}, source
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            raw_yaml = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            break
    else:
        # A leading "---" may be a horizontal rule; only YAML-looking content means
        # the author forgot the closing delimiter.
        first = next((line for line in lines[1:] if line.strip()), "")
        if _YAML_KEY_RE.match(first):
            raise _invalid(
                "front matter is not closed (missing '---' line after it)",
                "Vorspann nicht abgeschlossen (Zeile '---' danach fehlt)",
            )
        return {}, source
    try:
        loaded = yaml.load(raw_yaml, Loader=_FrontMatterLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        problem, line = _describe_yaml_error(exc)
        where, wo = (f" (line {line})", f" (Zeile {line})") if line else ("", "")
        raise _invalid(
            f"invalid YAML front matter: {problem}{where}",
            f"ungültiger YAML-Vorspann: {problem}{wo}",
        ) from exc
    except RecursionError as exc:  # PyYAML recurses once per nesting level
        raise _invalid(
            "invalid YAML front matter: nested too deeply",
            "ungültiger YAML-Vorspann: zu tief verschachtelt",
        ) from exc
    if loaded is None:
        return {}, body
    if not isinstance(loaded, dict):
        raise _invalid(
            f"front matter is not a 'key: value' mapping (got {_type_name(loaded)})",
            "Vorspann ist keine Zuordnung 'Schlüssel: Wert' "
            f"(sondern {_type_name(loaded, german=True)})",
        )
    return clean_front_matter(loaded), body


def _describe_yaml_error(exc: yaml.YAMLError) -> tuple[str, int | None]:
    """The problem of a YAML error and its line in the file (None if unknown)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "syntax error"
        mark = exc.problem_mark or exc.context_mark
        # +2: the opening '---' is file line 1 and YAML marks are 0-based.
        return problem, (mark.line + 2 if mark is not None else None)
    return str(exc).split("\n", 1)[0], None


def _type_name(value: object, german: bool = False) -> str:
    if isinstance(value, list):
        return "eine Liste" if german else "a list"
    if isinstance(value, dict):
        return "eine Zuordnung" if german else "a mapping"
    if isinstance(value, str):
        return "Text" if german else "text"
    return type(value).__name__


def clean_front_matter(raw: dict[Any, Any]) -> dict[str, Any]:
    """Keep known keys (plus a few common aliases) with normalised values."""
    canonical: dict[str, Any] = {}
    aliased: dict[str, Any] = {}
    for raw_key, value in raw.items():
        key = str(raw_key).strip().lower()
        if key in METADATA_KEYS:
            canonical[key] = value
        elif key in _METADATA_ALIASES:
            aliased.setdefault(_METADATA_ALIASES[key], value)
    merged = {**aliased, **canonical}  # the canonical spelling wins over an alias
    cleaned: dict[str, Any] = {}
    for key in METADATA_KEYS:
        if key not in merged:
            continue
        value = _clean_topics(merged[key]) if key == "topics" else _clean_scalar(key, merged[key])
        if value:
            cleaned[key] = value
    return cleaned


def _clean_scalar(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):  # also a datetime: its day
        return parse_date(value)
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _invalid(
        f"front matter field '{key}' must be text, not {_type_name(value)}",
        f"Feld '{key}' im Vorspann muss Text sein, nicht {_type_name(value, german=True)}",
    )


def _clean_topics(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        return split_topics(_clean_scalar("topics", value))
    topics: list[str] = []
    for item in value:
        topic = _clean_scalar("topics", item)
        if topic and topic not in topics:
            topics.append(topic)
    return topics
