"""The scale benchmark's report: which in-process median the HTTP target is held to."""

from bench.scale import report


def _size(http_ms: float, in_process_ms: float, paired_ms: float | None) -> dict:
    one = {"n": 340, "median_ms": http_ms, "errors": 0}
    if paired_ms is not None:
        one["paired_in_process"] = {"n": 340, "median_ms": paired_ms}
    return {
        "label": "100k passages",
        "reports": 29_482,
        "passages": 100_000,
        "query": {"ours": {"median_ms": in_process_ms, "p99_ms": 12.0}},
        "http": {"one_client": one, "clients": {}},
    }


def _http_line(size: dict) -> str:
    lines = report.targets({"sizes": [size]})
    return next(line for line in lines if line.startswith("- HTTP one client"))


def test_http_target_uses_the_rounds_that_alternated_with_the_http_ones():
    # 9.0 ms in the in-process step, 10.5 ms in the rounds beside the HTTP ones
    line = _http_line(_size(http_ms=12.0, in_process_ms=9.0, paired_ms=10.5))
    assert "**met**" in line and "+1.5 ms (alternating rounds)" in line


def test_http_target_falls_back_to_the_in_process_step_for_older_runs():
    line = _http_line(_size(http_ms=12.0, in_process_ms=9.0, paired_ms=None))
    assert "**not met**" in line and "+3.0 ms" in line and "alternating" not in line


def test_table_shows_the_alternating_in_process_median_only_when_measured():
    results = {"meta": {}, "sizes": [_size(12.0, 9.0, 10.5)]}
    assert "| in-process, rounds alternating with those, median (ms) | 10.50 |" in (
        report.table(results)
    )
    results = {"meta": {}, "sizes": [_size(12.0, 9.0, None)]}
    assert "rounds alternating" not in report.table(results)
