"""The 1M-passage plan, tested on synthetic vectors: FAISS designs at 100k and 1M vectors.

For each size, one seeded data set is generated (see ``Space``) and every candidate design
is built and measured in its own child process (so memory deltas are clean), with one
OpenMP and one BLAS thread throughout (builds too), one query per call:

- build time (wall and CPU) of train + add, index bytes (the saved file), process RSS
  delta (anonymous memory after the build, and its peak during the build);
- query latency median / p99 for top-100 (passages) and top-400 (field vectors), recall@10
  and recall@100 of the top-100 and recall@400 of the top-400 against exact search;
- a top-100 query restricted to 1% of the ids (an allowed-id selector, as a filter), with
  its recall against exact search over those ids;
- removal of 1% of the ids (and a check that no removed id comes back);
- save (atomic, fsync) time and file size, load time, and load with FAISS memory mapping
  (``IO_FLAG_MMAP`` and ``IO_FLAG_MMAP_IFC``): what the load costs in anonymous memory,
  query latency on the mapped index, whether it answers as the loaded one, and whether a
  removal works on it.

Designs (``DESIGNS``): ``flat`` and ``ivf`` are this project's backends as they are
(``search.ann.create``), fed in batches of 4,096 as the mirror's rebuild feeds them, so
``ivf`` retrains at 20k, 80k and 320k vectors exactly as in production. The other IVF
designs reuse the coarse quantizer ``ivf`` trained and its assignment of every vector
(same cells, same nprobe 32), so they differ from it only in the codes; their build time
adds their own training and encoding to ``ivf``'s. ``ivf-pq64r`` / ``ivf-pq32r`` store
PQ codes (64 / 32 bytes per vector) in the IVF and re-rank ``REFINE_FACTOR``·k candidates
by exact dot product with a float16 copy of the vectors (``faiss.IndexRefine``).
``hnsw`` is ``IndexHNSWFlat`` (M=32, efConstruction 40, efSearch max(128, k)) in an
``IndexIDMap2``.

Usage: python bench/million.py [--sizes 100k,1m] [--designs flat,ivf,...] [--queries 200]
                               [--out bench/results/million.md]
The work folder (data, indexes; 2 GB per 1M vectors and design) is deleted afterwards.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIM = 512
#: SQLite row ids start at 1
FIRST_ID = 1
DESIGNS = ("flat", "ivf", "ivf-fp16", "ivf-pq64r", "ivf-pq32r", "hnsw")
#: the top-n the two vector spaces need per query (passages, field vectors)
K_PASSAGES, K_FIELDS = 100, 400
#: PQ designs re-rank this many candidates per result by exact dot product
REFINE_FACTOR = 4
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 40, 128
#: search settings swept (on SWEEP_QUERIES queries): IVF cells scanned, HNSW beam width
NPROBES = (16, 32, 64, 128)
EF_SEARCHES = (64, 128, 256, 512)
SWEEP_QUERIES = 100
#: batch size of the mirror's rebuild (Store.iter_vectors)
MIRROR_BATCH = 4096
#: share of ids a filter allows / a removal removes
FILTER_SHARE = REMOVE_SHARE = 0.01
FILTER_QUERIES = 20
BROAD_QUERIES = 10
MMAP_QUERIES = 50
WARMUP = 5
#: same rule as search.ann.ivf: a filter allowing fewer than this share scans every cell
RARE_FILTER = 0.2
SEED = 20261201
THREADS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: a fixed mmap threshold: glibc returns every large block to the system when freed (its
#: default threshold adapts and keeps freed blocks of up to 32 MB, which blurs RSS deltas)
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


# -- synthetic data ------------------------------------------------------------------------
class Space:
    """A seeded generator of embedding-like vectors.

    Real sentence embeddings are not uniform on the sphere: they share a mean direction,
    cluster by topic, and their variance is spread unevenly over directions. So a vector
    is ``normalise(MEAN_WEIGHT·m + c_k + NOISE·z)`` where ``m`` is a fixed unit direction,
    ``c_k`` one of ``TOPICS × PER_TOPIC`` unit centres (a topic direction plus an own
    offset, cluster sizes log-normal), and ``z`` anisotropic noise: Gaussian with standard
    deviations ``(1 + j/16)^-0.6`` along the axes of a fixed random rotation (E|z| = 1),
    which also shapes topics and centres. The constants were set so that 754 generated
    vectors have the statistics of 754 USE multilingual v3 passage vectors (gnad-dev and
    xquad-dev texts): mean cosine of random pairs 0.168 (USE 0.173), median nearest-
    neighbour cosine 0.52 (0.54), norm of the mean vector 0.41 (0.42), variance share of
    the top 10/50/100/200 principal components 0.21/0.56/0.75/0.90 (0.23/0.55/0.75/0.93).
    Queries come from the same mixture with ``QUERY_NOISE`` times the noise (queries sit
    farther from the passages than passages from each other).
    """

    TOPICS, PER_TOPIC = 200, 20
    MEAN_WEIGHT, NOISE, QUERY_NOISE = 0.6, 0.9, 1.3
    SPECTRUM_SCALE, SPECTRUM_POWER = 16.0, 0.6

    def __init__(self, seed: int = SEED, dim: int = DIM) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.basis = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
        spectrum = (1 + np.arange(dim) / self.SPECTRUM_SCALE) ** -self.SPECTRUM_POWER
        self.spectrum = (spectrum / np.sqrt((spectrum**2).sum())).astype(np.float32)
        mean = rng.standard_normal(dim)
        self.mean = (self.MEAN_WEIGHT * mean / np.linalg.norm(mean)).astype(np.float32)
        topics = np.repeat(self._directions(rng, self.TOPICS), self.PER_TOPIC, axis=0)
        centres = topics + 0.8 * self._directions(rng, self.TOPICS * self.PER_TOPIC)
        self.centres = (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float32)
        weights = rng.lognormal(0.0, 1.0, len(self.centres))
        self.weights = weights / weights.sum()

    def _noise(self, rng: np.random.Generator, n: int) -> np.ndarray:
        z = rng.standard_normal((n, self.dim), dtype=np.float32) * self.spectrum
        return z @ self.basis.T

    def _directions(self, rng: np.random.Generator, n: int) -> np.ndarray:
        z = self._noise(rng, n)
        return z / np.linalg.norm(z, axis=1, keepdims=True)

    def points(self, rng: np.random.Generator, n: int, noise: float) -> np.ndarray:
        """n normalised float32 vectors of the mixture."""
        k = rng.choice(len(self.centres), n, p=self.weights)
        x = self.mean + self.centres[k] + noise * self._noise(rng, n)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32, copy=False)


def parse_size(text: str) -> int:
    """'100k' -> 100000, '1m' -> 1000000, '30000' -> 30000."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def prepare(work: Path, n: int, nq: int) -> dict:
    """Write the data of one size into ``work``: base vectors (chunked, seeded per chunk),
    queries, exact top-400 per query, the allowed ids of a 1% filter with its exact
    top-100, and the 1% of ids to remove. Returns timings."""
    from numpy.lib.format import open_memmap

    space = Space()
    started = time.perf_counter()
    base = open_memmap(work / "base.npy", mode="w+", dtype=np.float32, shape=(n, DIM))
    chunk = 100_000
    for i, start in enumerate(range(0, n, chunk)):
        stop = min(n, start + chunk)
        base[start:stop] = space.points(np.random.default_rng([SEED, 1, i]), stop - start, 0.9)
    base.flush()
    generated = time.perf_counter() - started
    rng = np.random.default_rng([SEED, 2])
    queries = space.points(rng, nq, Space.NOISE * Space.QUERY_NOISE)
    np.save(work / "queries.npy", queries)
    started = time.perf_counter()
    gt = exact_top(base, queries, K_FIELDS)
    np.save(work / "gt.npy", gt)
    exact = time.perf_counter() - started
    allow_rows = np.sort(rng.choice(n, max(1, int(FILTER_SHARE * n)), replace=False))
    np.save(work / "allow.npy", allow_rows + FIRST_ID)
    sub = exact_top(np.asarray(base[allow_rows]), queries[:FILTER_QUERIES], K_PASSAGES)
    np.save(work / "allow_gt.npy", allow_rows[sub] + FIRST_ID)
    remove_rows = np.sort(rng.choice(n, max(1, int(REMOVE_SHARE * n)), replace=False))
    np.save(work / "remove.npy", remove_rows + FIRST_ID)
    return {"generate_s": generated, "exact_s": exact}


def exact_top(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the exact top-k inner products per query (chunked over the base)."""
    import faiss

    k = min(k, len(base))
    heap = faiss.ResultHeap(len(queries), k, keep_max=True)
    chunk = 250_000
    for start in range(0, len(base), chunk):
        part = np.ascontiguousarray(base[start : start + chunk])
        scores, rows = faiss.knn(queries, part, k, metric=faiss.METRIC_INNER_PRODUCT)
        heap.add_result(scores, np.where(rows >= 0, rows + start, -1))
    heap.finalize()
    return heap.I


# -- designs -------------------------------------------------------------------------------
def _faiss():
    import faiss

    faiss.omp_set_num_threads(1)
    return faiss


class Design:
    """One candidate: build, search, remove, save, load (optionally memory-mapped)."""

    name = ""

    def build(self, data: Data) -> dict:
        """Put every vector of ``data`` in; returns facts about the result."""
        raise NotImplementedError

    def search(self, query: np.ndarray, k: int, allow: np.ndarray | None = None) -> np.ndarray:
        """Ids of the top-k, best first."""
        raise NotImplementedError

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; how many were present."""
        raise NotImplementedError

    def save(self, folder: Path) -> int:
        """Save into ``folder``; bytes written."""
        raise NotImplementedError

    def load(self, folder: Path, flags: int = 0) -> Design:
        """A copy read from ``folder`` with FAISS IO flags (0: read into memory)."""
        raise NotImplementedError

    def knob(self) -> tuple[str, list[int]] | None:
        """The search-time setting worth sweeping (name, values), if any."""
        return None

    def set_knob(self, value: int) -> int:
        """Set the swept setting; returns the value before."""
        raise NotImplementedError


class Ours(Design):
    """This project's backend as it is (``flat`` or ``ivf``)."""

    def __init__(self, kind: str, index=None) -> None:
        self.name = kind
        self.index = index

    def build(self, data: Data) -> dict:
        from search import ann

        self.index = ann.create(self.name, DIM)
        for start in range(0, data.n, MIRROR_BATCH):
            stop = min(data.n, start + MIRROR_BATCH)
            self.index.add(data.ids[start:stop], data.base[start:stop])
        if self.name != "ivf":
            return {}
        raw = self.index.index
        return {"nlist": int(raw.nlist), "trained_at": int(self.index.trained_at)}

    def export_cells(self, work: Path) -> None:
        """Save the IVF's centroids and each vector's cell for the designs that reuse them."""
        faiss = _faiss()
        raw = self.index.index
        cells = np.full(len(self.index), -1, dtype=np.int64)
        invlists = raw.invlists
        for c in range(raw.nlist):
            size = invlists.list_size(c)
            if size:
                ids = faiss.rev_swig_ptr(invlists.get_ids(c), size)
                cells[np.asarray(ids) - FIRST_ID] = c
        np.save(work / "cells.npy", cells)
        np.save(work / "centroids.npy", raw.quantizer.reconstruct_n(0, raw.nlist))

    def search(self, query, k, allow=None):
        return self.index.search(query, k, allow)[0]

    def knob(self):
        return ("nprobe", NPROBES) if self.name == "ivf" else None

    def set_knob(self, value):
        raw = self.index.index
        old, raw.nprobe = raw.nprobe, value
        return old

    def remove(self, ids):
        return self.index.remove(ids)

    def save(self, folder):
        path = folder / f"{self.name}.faiss"
        self.index.save(path)
        return path.stat().st_size

    def load(self, folder, flags=0):
        from search import ann
        from search.ann.flat import FlatIndex
        from search.ann.ivf import NPROBE, IVFIndex

        path = folder / f"{self.name}.faiss"
        if not flags:
            return Ours(self.name, ann.backend(self.name).load(path, DIM))
        # what IVFIndex.read_file / FlatIndex.read_file do, with the IO flags added
        faiss = _faiss()
        raw = faiss.read_index(str(path), flags)
        if self.name == "flat":
            return Ours("flat", FlatIndex(DIM, raw))
        raw.set_direct_map_type(faiss.DirectMap.Hashtable)
        raw.nprobe = min(NPROBE, raw.nlist)
        return Ours("ivf", IVFIndex(DIM, raw, trained_at=raw.ntotal))


class ReusedIVF(Design):
    """An IVF on ``ivf``'s cells with other codes (float16 or PQ); removal through a hash
    direct map, as ``ivf``.

    The ``r`` variants wrap it in ``faiss.IndexRefine``: the IVF returns ``REFINE_FACTOR``·k
    candidates, which are scored again by exact dot product with a float16 copy of the
    vectors (an ``IndexScalarQuantizer`` whose row i holds id i: SQLite row ids are dense
    and only grow, so the copy is an array addressed by id; rows of removed ids stay until
    a rebuild). The re-ranking runs in C++ (numpy's float16 conversion alone cost more
    than 1 ms per 1,600 candidates here).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.codes = name.split("-")[1].rstrip("r")  # fp16, pq64, pq32
        self.refine = name.endswith("r")
        self.index = None  # what is searched: the IVF, or the IndexRefine around it
        self.ivf = None

    def _empty(self, centroids: np.ndarray):
        faiss = _faiss()
        quantizer = faiss.IndexFlatIP(DIM)
        quantizer.add(centroids)
        nlist = len(centroids)
        ip = faiss.METRIC_INNER_PRODUCT
        if self.codes == "fp16":
            return faiss.IndexIVFScalarQuantizer(
                quantizer, DIM, nlist, faiss.ScalarQuantizer.QT_fp16, ip
            )
        return faiss.IndexIVFPQ(quantizer, DIM, nlist, int(self.codes[2:]), 8, ip)

    def build(self, data):
        faiss = _faiss()
        from search.ann.ivf import NPROBE, TRAIN_SAMPLE

        cells_file = data.work / "cells.npy"
        if not cells_file.is_file():
            raise SystemExit(f"{self.name} reuses the cells of 'ivf': run 'ivf' first")
        cells = np.load(cells_file)
        ivf = self._empty(np.load(data.work / "centroids.npy"))
        rows = np.sort(np.random.default_rng(0).choice(data.n, min(data.n, TRAIN_SAMPLE), False))
        ivf.train(np.ascontiguousarray(data.base[rows]))  # codes only: the cells are set
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        index = ivf
        if self.refine:
            copy = faiss.IndexScalarQuantizer(
                DIM, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
            )
            index = faiss.IndexRefine(ivf, copy)  # both empty: FAISS checks equal counts
            copy.add(np.zeros((FIRST_ID, DIM), dtype=np.float32))  # ids below the first
        chunk = 100_000
        for start in range(0, data.n, chunk):
            stop = min(data.n, start + chunk)
            x = np.ascontiguousarray(data.base[start:stop])
            ids = np.ascontiguousarray(data.ids[start:stop])
            assign = np.ascontiguousarray(cells[start:stop])
            ivf.add_core(
                stop - start, faiss.swig_ptr(x), faiss.swig_ptr(ids), faiss.swig_ptr(assign)
            )
            if self.refine:
                copy.add(x)
        ivf.nprobe = min(NPROBE, ivf.nlist)
        self._adopt(index, ivf)
        return {"nlist": int(ivf.nlist)}

    def _adopt(self, index, ivf) -> None:
        self.index, self.ivf = index, ivf
        if self.refine:
            index.k_factor = REFINE_FACTOR
            # IndexRefine accepts labels below its count: the ids, i.e. the rows of the copy
            index.ntotal = index.refine_index.ntotal

    def search(self, query, k, allow=None):
        faiss = _faiss()
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        params = faiss.SearchParametersIVF(nprobe=self.ivf.nprobe)
        if allow is not None:
            params.sel = faiss.IDSelectorBatch(np.ascontiguousarray(allow, dtype=np.int64))
            if len(allow) < RARE_FILTER * self.ivf.ntotal:
                params.nprobe = self.ivf.nlist
        if self.refine:
            outer = faiss.IndexRefineSearchParameters(k_factor=REFINE_FACTOR)
            outer.base_index_params = params
            _, ids = self.index.search(query, k, params=outer)
        else:
            _, ids = self.index.search(query, k, params=params)
        return ids[0][ids[0] >= 0]

    def knob(self):
        return ("nprobe", NPROBES)

    def set_knob(self, value):
        old, self.ivf.nprobe = self.ivf.nprobe, value
        return old

    def remove(self, ids):
        # from the IVF only: the float16 rows of removed ids are never candidates again
        return int(self.ivf.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def save(self, folder):
        from search.ann import write_atomic

        path = folder / f"{self.name}.faiss"
        write_atomic(path, lambda tmp: _faiss().write_index(self.index, str(tmp)))
        return path.stat().st_size

    def load(self, folder, flags=0):
        faiss = _faiss()
        from search.ann.ivf import NPROBE

        index = faiss.read_index(str(folder / f"{self.name}.faiss"), flags)
        ivf = faiss.downcast_index(index.base_index) if self.refine else index
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        ivf.nprobe = min(NPROBE, ivf.nlist)
        copy = ReusedIVF(self.name)
        copy._adopt(index, ivf)
        return copy


class HNSW(Design):
    """``IndexHNSWFlat`` in an ``IndexIDMap2`` (float32 vectors plus the graph)."""

    name = "hnsw"

    def __init__(self, index=None) -> None:
        self.index = index
        self.ef = HNSW_EF_SEARCH

    def build(self, data):
        faiss = _faiss()
        inner = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        self.index = faiss.IndexIDMap2(inner)
        chunk = 100_000
        for start in range(0, data.n, chunk):
            stop = min(data.n, start + chunk)
            self.index.add_with_ids(
                np.ascontiguousarray(data.base[start:stop]),
                np.ascontiguousarray(data.ids[start:stop]),
            )
        return {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}

    def search(self, query, k, allow=None):
        faiss = _faiss()
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        params = faiss.SearchParametersHNSW(efSearch=max(self.ef, k))
        if allow is not None:
            params.sel = faiss.IDSelectorBatch(np.ascontiguousarray(allow, dtype=np.int64))
        _, ids = self.index.search(query, k, params=params)
        return ids[0][ids[0] >= 0]

    def remove(self, ids):
        return int(self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def knob(self):
        return ("efSearch", EF_SEARCHES)

    def set_knob(self, value):
        old, self.ef = self.ef, value
        return old

    def save(self, folder):
        from search.ann import write_atomic

        path = folder / "hnsw.faiss"
        write_atomic(path, lambda tmp: _faiss().write_index(self.index, str(tmp)))
        return path.stat().st_size

    def load(self, folder, flags=0):
        return HNSW(_faiss().read_index(str(folder / "hnsw.faiss"), flags))


def make_design(name: str) -> Design:
    """The design a name stands for."""
    if name in ("flat", "ivf"):
        return Ours(name)
    if name.startswith("ivf-"):
        return ReusedIVF(name)
    if name == "hnsw":
        return HNSW()
    raise SystemExit(f"unknown design {name!r}; known: {', '.join(DESIGNS)}")


# -- measuring (child process) -------------------------------------------------------------
class Data:
    """The inputs of one size, memory-mapped from the work folder."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.base = np.load(work / "base.npy", mmap_mode="r")
        self.n = len(self.base)
        self.ids = np.arange(FIRST_ID, FIRST_ID + self.n, dtype=np.int64)
        self.queries = np.load(work / "queries.npy")
        self.gt = np.load(work / "gt.npy") + FIRST_ID
        self.allow = np.load(work / "allow.npy")
        self.allow_gt = np.load(work / "allow_gt.npy")
        self.remove = np.load(work / "remove.npy")


def memory() -> dict[str, int]:
    """Resident memory of this process in bytes: anonymous, file-backed, peak."""
    fields = {"RssAnon": "anon", "RssFile": "file", "VmHWM": "peak", "VmRSS": "rss"}
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            out[fields[key]] = int(value.split()[0]) * 1024
    return out


class PeakAnon:
    """Samples anonymous RSS every 20 ms in a thread (FAISS releases the GIL)."""

    def __init__(self) -> None:
        self.peak = memory()["anon"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, memory()["anon"])

    def __enter__(self) -> PeakAnon:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, memory()["anon"])


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_queries(
    design: Design, queries: np.ndarray, k: int, allow: np.ndarray | None = None
) -> tuple[list[float], list[np.ndarray]]:
    """Latency in ms of one query per call (after a warm-up) and the answers."""
    for q in queries[:WARMUP]:
        design.search(q, k, allow)
    times, answers = [], []
    for q in queries:
        started = time.perf_counter()
        ids = design.search(q, k, allow)
        times.append((time.perf_counter() - started) * 1000)
        answers.append(ids)
    return times, answers


def recall(answers: list[np.ndarray], truth: np.ndarray, at: int) -> float:
    """Mean share of the exact top-``at`` found in the answers' top-``at``."""
    found = [
        len(np.intersect1d(a[:at], t[:at])) / min(at, len(t))
        for a, t in zip(answers, truth, strict=True)
    ]
    return float(np.mean(found))


def p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def child(design_name: str, work: Path, out: Path) -> None:
    """Measure one design on the data in ``work``; results go to ``out`` after each stage,
    so a crash in a later probe keeps the earlier figures."""
    faiss = _faiss()
    data = Data(work)
    result: dict = {"design": design_name, "n": data.n, "load_avg": [os.getloadavg()[0]]}

    def stage(**values) -> None:
        result.update(values)
        out.write_text(json.dumps(result, indent=1))

    design = make_design(design_name)
    gc.collect()
    before = memory()
    cpu, started = cpu_seconds(), time.perf_counter()
    with PeakAnon() as peak:
        facts = design.build(data)
    build_s, build_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    gc.collect()
    after = memory()
    stage(
        facts=facts,
        build_s=build_s,
        build_cpu_s=build_cpu,
        anon_delta=after["anon"] - before["anon"],
        peak_anon_delta=peak.peak - before["anon"],
    )
    if design_name == "ivf":
        design.export_cells(work)

    times, answers = timed_queries(design, data.queries, K_PASSAGES)
    stage(
        top100_ms=[statistics.median(times), p99(times)],
        recall10=recall(answers, data.gt, 10),
        recall100=recall(answers, data.gt, 100),
    )
    reference = answers
    times, answers = timed_queries(design, data.queries, K_FIELDS)
    stage(top400_ms=[statistics.median(times), p99(times)], recall400=recall(answers, data.gt, 400))
    knob = design.knob()
    if knob:
        name, values = knob
        sweep = []
        queries, truth = data.queries[:SWEEP_QUERIES], data.gt[:SWEEP_QUERIES]
        for value in values:
            default = design.set_knob(value)
            t100, a100 = timed_queries(design, queries, K_PASSAGES)
            t400, a400 = timed_queries(design, queries, K_FIELDS)
            design.set_knob(default)
            sweep.append(
                {
                    name: value,
                    "top100_ms": statistics.median(t100),
                    "top400_ms": statistics.median(t400),
                    "recall10": recall(a100, truth, 10),
                    "recall100": recall(a100, truth, 100),
                    "recall400": recall(a400, truth, 400),
                }
            )
        stage(sweep=sweep, sweep_queries=len(queries))
    times, answers = timed_queries(
        design, data.queries[:FILTER_QUERIES], K_PASSAGES, allow=data.allow
    )
    stage(
        filtered_ms=[statistics.median(times), p99(times)],
        filtered_recall100=recall(answers, data.allow_gt, 100),
    )
    # a broad filter: half of all ids allowed (the selector is built in every search)
    half = np.sort(np.random.default_rng([SEED, 3]).choice(data.ids, data.n // 2, False))
    times, _ = timed_queries(design, data.queries[:BROAD_QUERIES], K_PASSAGES, allow=half)
    stage(broad_ms=statistics.median(times))
    if design_name == "flat":  # what the selector alone costs, by kind
        started = time.perf_counter()
        faiss.IDSelectorBatch(half)
        batch_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        bits = np.zeros(int(data.ids[-1]) + 1, dtype=bool)
        bits[half] = True
        faiss.IDSelectorBitmap(np.packbits(bits, bitorder="little"))
        bitmap_ms = (time.perf_counter() - started) * 1000
        stage(selector_ms={"batch": batch_ms, "bitmap": bitmap_ms})

    folder = work / f"index-{design_name}"
    folder.mkdir(exist_ok=True)
    started = time.perf_counter()
    size = design.save(folder)
    stage(save_s=time.perf_counter() - started, file_bytes=size)
    gc.collect()
    before = memory()
    started = time.perf_counter()
    loaded = design.load(folder)
    load_s = time.perf_counter() - started
    stage(load_s=load_s, load_anon_delta=memory()["anon"] - before["anon"])
    del loaded
    gc.collect()

    flags = {"MMAP": faiss.IO_FLAG_MMAP, "MMAP_IFC": faiss.IO_FLAG_MMAP_IFC}
    mapped_copies = {}
    for label, flag in flags.items():
        gc.collect()
        before = memory()
        started = time.perf_counter()
        try:
            mapped = design.load(folder, flag)
        except Exception as exc:  # report which index types FAISS cannot map
            stage(**{f"mmap_{label}": {"error": str(exc).splitlines()[0][:200]}})
            continue
        load_s = time.perf_counter() - started
        loaded_mem = memory()
        times, answers = timed_queries(mapped, data.queries[:MMAP_QUERIES], K_PASSAGES)
        queried = memory()
        same = all(
            np.array_equal(np.sort(a), np.sort(r))
            for a, r in zip(answers, reference[:MMAP_QUERIES], strict=True)
        )
        stage(
            **{
                f"mmap_{label}": {
                    "load_s": load_s,
                    "anon_delta": loaded_mem["anon"] - before["anon"],
                    "file_delta_after_queries": queried["file"] - before["file"],
                    "top100_ms": [statistics.median(times), p99(times)],
                    "same_answers": bool(same),
                }
            }
        )
        mapped_copies[label] = mapped

    started = time.perf_counter()
    try:
        removed = design.remove(data.remove)
    except Exception as exc:
        stage(remove={"error": str(exc).splitlines()[0][:200]})
    else:
        remove_s = time.perf_counter() - started
        gone = set(data.remove.tolist())
        _, answers = timed_queries(design, data.queries[:FILTER_QUERIES], K_PASSAGES)
        leaked = sum(len(gone.intersection(a.tolist())) for a in answers)
        stage(remove={"s": remove_s, "removed": removed, "leaked": leaked})

    result["load_avg"].append(os.getloadavg()[0])
    stage(done=True)
    # last, as it may crash the process: does a removal work on a memory-mapped index?
    for label, mapped in mapped_copies.items():
        key = f"mmap_{label}"
        result[key]["remove"] = "crashed"  # overwritten unless the process dies
        stage()
        try:
            mapped.remove(data.remove[:10])
            result[key]["remove"] = "ok"
        except Exception as exc:
            result[key]["remove"] = "error: " + str(exc).splitlines()[0][:300]
        stage()
    shutil.rmtree(folder, ignore_errors=True)


# -- orchestration and report --------------------------------------------------------------
def run_size(n: int, designs: list[str], nq: int, work_root: Path) -> dict:
    """Generate one size and measure each design in a child process."""
    work = work_root / f"n{n}"
    work.mkdir()
    print(f"[{n:,}] generating data and exact answers", file=sys.stderr, flush=True)
    prep = prepare(work, n, nq)
    results = {}
    env = {**os.environ, **THREADS_ENV, **MALLOC_ENV, "PYTHONPATH": str(ROOT)}
    for name in designs:
        print(f"[{n:,}] {name}", file=sys.stderr, flush=True)
        out = work / f"result-{name}.json"
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, "--work", str(work), "--result", str(out)],
            env=env,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.read_text()) if out.is_file() else {"design": name}
        result["wall_s"] = time.perf_counter() - started
        if proc.returncode != 0:
            result["exit"] = proc.returncode
            result["stderr"] = proc.stderr.strip().splitlines()[-3:]
        results[name] = result
        print(f"[{n:,}] {name}: {result['wall_s']:.0f} s", file=sys.stderr, flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return {"n": n, "prepare": prep, "designs": results}


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value / 1e6:,.0f}"


def _ms(pair) -> str:
    return "–" if not pair else f"{pair[0]:.2f} / {pair[1]:.2f}"


def _num(value, fmt: str = ".3f") -> str:
    return "–" if value is None else format(value, fmt)


def build_cell(result: dict, ivf: dict | None) -> str:
    own = result.get("build_s")
    if own is None:
        return "–"
    if result["design"].startswith("ivf-") and ivf and ivf.get("build_s") is not None:
        return f"{ivf['build_s'] + own:.1f} ({own:.1f} own)"
    return f"{own:.1f}"


def removal_text(outcome: str | None) -> str:
    """A short form of what a removal on a memory-mapped index did."""
    if outcome is None:
        return "–"
    if outcome == "crashed":
        return "crashes (SIGSEGV: read-only mapping)"
    if "OnDiskInvertedLists" in outcome:
        return "fails (read-only lists)"
    if "not implemented" in outcome:
        return "unsupported"
    return outcome[:60]


def mmap_cell(entry: dict | None) -> str:
    if not entry:
        return "–"
    if "error" in entry:
        return f"fails: {entry['error'][:60]}"
    same = "" if entry.get("same_answers") else ", other answers"
    return (
        f"{entry['load_s']:.2f} s, anon {_mb(entry['anon_delta'])} MB, "
        f"{entry['top100_ms'][0]:.2f} ms{same}, removal {removal_text(entry.get('remove'))}"
    )


def report(runs: list[dict], command: str) -> str:
    """Markdown tables of all sizes."""
    lines = [
        f"Run {time.strftime('%Y-%m-%dT%H:%M:%S')}, faiss {_faiss().__version__}, "
        f"load average at the end {os.getloadavg()[0]:.2f}: `{command}`",
        "",
    ]
    for run in runs:
        n, res = run["n"], run["designs"]
        ivf = res.get("ivf")
        loads = [x for r in res.values() for x in r.get("load_avg", [])]
        load = f"{min(loads):.1f}–{max(loads):.1f}" if loads else "–"
        lines += [
            f"**{n:,} vectors** (512-d; data {run['prepare']['generate_s']:.0f} s, exact "
            f"answers {run['prepare']['exact_s']:.0f} s; machine load average {load}). "
            "Latency: median / p99 ms, one thread, one query per call.",
            "",
            "| design | build s (CPU s) | top-100 ms | top-400 ms | R@10 | R@100 | R@400 "
            "| 1% filter: ms, R@100 | 50% filter ms | remove 1% s (leaked) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in res.items():
            remove = r.get("remove") or {}
            remove_text = (
                f"{remove['s']:.2f} ({remove['leaked']})"
                if "s" in remove
                else ("unsupported" if "error" in remove else "–")
            )
            facts = ", ".join(f"{k} {v}" for k, v in (r.get("facts") or {}).items())
            label = f"{name} ({facts})" if facts else name
            if "exit" in r and not r.get("done"):
                label += f" — failed (exit {r['exit']}): {' '.join(r.get('stderr', []))[-160:]}"
            lines.append(
                f"| {label} | {build_cell(r, ivf)} ({_num(r.get('build_cpu_s'), '.0f')}) "
                f"| {_ms(r.get('top100_ms'))} | {_ms(r.get('top400_ms'))} "
                f"| {_num(r.get('recall10'))} | {_num(r.get('recall100'))} "
                f"| {_num(r.get('recall400'))} "
                f"| {_ms(r.get('filtered_ms'))}, {_num(r.get('filtered_recall100'))} "
                f"| {_num(r.get('broad_ms'), '.2f')} | {remove_text} |"
            )
        selector = (res.get("flat") or {}).get("selector_ms")
        if selector:
            lines += [
                "",
                f"Building the allowed-id selector of the 50% filter ({n // 2:,} ids): "
                f"IDSelectorBatch {selector['batch']:.0f} ms, IDSelectorBitmap "
                f"{selector['bitmap']:.0f} ms.",
            ]
        lines += [
            "",
            "| design | file MB | RSS anon Δ MB (peak in build) | save s | load s (anon Δ MB) "
            "| IO_FLAG_MMAP: load, anon Δ, top-100 median, removal "
            "| IO_FLAG_MMAP_IFC: same |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in res.items():
            lines.append(
                f"| {name} | {_mb(r.get('file_bytes'))} "
                f"| {_mb(r.get('anon_delta'))} ({_mb(r.get('peak_anon_delta'))}) "
                f"| {_num(r.get('save_s'), '.2f')} "
                f"| {_num(r.get('load_s'), '.2f')} ({_mb(r.get('load_anon_delta'))}) "
                f"| {mmap_cell(r.get('mmap_MMAP'))} | {mmap_cell(r.get('mmap_MMAP_IFC'))} |"
            )
        sweep_n = max((r.get("sweep_queries", 0) for r in res.values()), default=0)
        lines += [
            "",
            f"Search settings on {sweep_n} queries: R@10 / R@100 / R@400, "
            "median ms top-100 / top-400.",
            "",
            "| design | setting: R@10 / R@100 / R@400, ms / ms |",
            "|---|---|",
        ]
        for name, r in res.items():
            if r.get("sweep"):
                cells = []
                for entry in r["sweep"]:
                    knob = next(iter(entry))
                    cells.append(
                        f"{knob} {entry[knob]}: {entry['recall10']:.3f} / "
                        f"{entry['recall100']:.3f} / {entry['recall400']:.3f}, "
                        f"{entry['top100_ms']:.2f} / {entry['top400_ms']:.2f}"
                    )
                lines.append(f"| {name} | {'; '.join(cells)} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100k,1m", help="comma-separated: 100k,1m")
    parser.add_argument("--designs", default=",".join(DESIGNS), help="comma-separated")
    parser.add_argument("--queries", type=int, default=200, help="queries per measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "million.md")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: /tmp)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.work, args.result)
        return 0
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    for name in designs:
        make_design(name)  # unknown names fail before any work
    reused = [d for d in designs if d.startswith("ivf-")]
    if reused and "ivf" not in designs:
        parser.error(f"{', '.join(reused)} reuse the cells of 'ivf': add 'ivf' to --designs")
    designs.sort(key=lambda d: d.startswith("ivf-"))  # 'ivf' before the designs reusing it
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    command = "python bench/million.py " + " ".join(sys.argv[1:])
    work_root = Path(tempfile.mkdtemp(prefix="million-", dir=args.work))
    try:
        runs = [run_size(n, designs, args.queries, work_root) for n in sizes]
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    text = report(runs, command.strip())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(runs, indent=1), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
