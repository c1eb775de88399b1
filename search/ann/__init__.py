"""Vector index backends behind one protocol (``VectorIndex``), chosen by a config string.

``flat``  exact search (FAISS IndexFlatIP with an id map), the default
``ivf``   exact below 20,000 vectors, then an inverted file with 8-bit codes (FAISS IVF)

Backends whose packages are optional are imported only when chosen, with an install hint
when missing.
"""

from __future__ import annotations

from ..errors import KBError
from .base import VectorIndex, write_atomic

__all__ = ["BACKENDS", "VectorIndex", "backend", "create", "write_atomic"]


def _flat() -> type[VectorIndex]:
    from .flat import FlatIndex

    return FlatIndex


def _ivf() -> type[VectorIndex]:
    from .ivf import IVFIndex

    return IVFIndex


#: config name -> loader of the backend class (lazy: optional packages load on demand)
BACKENDS = {"flat": _flat, "ivf": _ivf}


def backend(kind: str) -> type[VectorIndex]:
    """The backend class a config string names."""
    loader = BACKENDS.get(kind)
    if loader is None:
        raise KBError(
            f"unknown vector index {kind!r}; available: {', '.join(map(repr, BACKENDS))}",
            code="unknown_vector_index",
        )
    return loader()


def create(kind: str, dim: int) -> VectorIndex:
    """An empty vector index of the configured kind."""
    return backend(kind)(dim)
