"""Our side of the in-process query benchmark: a worker over one index.

Usage (from the repository root, the project's Python):
    python bench/scale/ours_worker.py INDEX QUERIES.json
Opens ``KnowledgeBase.open(Settings(index=INDEX))`` and times ``.search(q, k=10)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rounds import load_queries, reply, serve  # noqa: E402

from search.errors import KBError  # noqa: E402
from search.kb import KnowledgeBase  # noqa: E402
from search.settings import Settings  # noqa: E402


def main() -> int:
    """Open the index, then serve query rounds to the harness."""
    index, queries_file = sys.argv[1], sys.argv[2]
    try:
        kb = KnowledgeBase.open(Settings(index=Path(index)), create=False)
        kb.warm_up()
        stats = kb.stats()
    except KBError as exc:
        reply({"error": str(exc)})
        return 1
    info = {"documents": stats.get("documents"), "passages": stats.get("chunks")}
    serve(lambda q: kb.search(q, k=10), load_queries(queries_file), info)
    kb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
