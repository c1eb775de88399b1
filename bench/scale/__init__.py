"""Scale benchmark (`make bench-scale`): our knowledge base against txtai at 1k-100k passages.

Run from the repository root: ``python -m bench.scale --help``. See docs/performance.md.
"""
