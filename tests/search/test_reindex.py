"""Changing the embedder of an existing index: a clear error, and `reindex` to do it."""

from __future__ import annotations

import pytest

from search.errors import EmbedderMismatch, EmbedderUnavailable
from search.kb import KnowledgeBase
from search.settings import Settings


def test_a_failed_reindex_leaves_the_old_index_working(built: Settings):
    kb = KnowledgeBase.open(built)
    with pytest.raises(EmbedderUnavailable):
        kb.reindex("no-such-embedder")
    assert kb.stats()["documents"] == 4
    assert kb.search("Wasserstoff").results[0].id == "wasserstoff-forum"
    kb.close()
    assert sorted(p.name for p in built.index.glob("store-*")) == ["store-0001"]


@pytest.mark.st
def test_reindex_with_sentence_transformers_switches_the_embedder(built: Settings, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    kb = KnowledgeBase.open(built)
    assert kb.reindex("st:all-MiniLM-L6-v2") == 4
    kb.close()
    with pytest.raises(EmbedderMismatch, match="kb reindex"):
        KnowledgeBase.open(built)  # still configured for 'fake'
    st = built.model_copy(update={"embedder": "st:all-MiniLM-L6-v2"})
    kb = KnowledgeBase.open(st)
    stats = kb.stats()
    assert (stats["embedder"], stats["dim"], stats["documents"]) == ("st:all-MiniLM-L6-v2", 384, 4)
    assert stats["vectors"] == stats["chunks"]
    hits = kb.search("recycling of plastics", ranking="dense").results
    assert hits[0].id == "kreislauf"
    assert kb.get_document("fachkraefte-treffen")["topics"] == ["Fachkräfte", "Ausbildung"]
    kb.close()
