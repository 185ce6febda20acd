# One venv at the repo root; every target builds on `install`. CI calls `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps run index test lint fmt eval bench bench-scale bench-api clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) --version >/dev/null 2>&1 || { echo "需要 Python 3.11（没有找到 $(PYTHON)）"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Set up, build or refresh the index of the bundled knowledge base, then open the workspace (ui/app.py) on
# 127.0.0.1, offline. PORT=8502 make run picks another port.
PORT ?= 8501
run: install
	$(BIN)/huashu index --quiet
	@echo "话术助手工作台：http://127.0.0.1:$(PORT)  （Ctrl+C 停止）"
	$(BIN)/python -m streamlit run ui/app.py --server.address 127.0.0.1 --server.port $(PORT)

index: install
	$(BIN)/huashu index

# Debian packages the tests use (PostgreSQL, Chromium): one idempotent script each in .ci/deps/.
system-deps:
	@for f in .ci/deps/*.sh; do [ -e "$$f" ] || continue; sh "$$f" || exit 1; done

# Two pytest workers (one per core of the 2-core machines we run on; TEST_WORKERS=4 make test elsewhere), then the
# timing-sensitive tests alone, so another worker's load never decides whether they pass.
TEST_WORKERS ?= 2
test: install system-deps
	$(BIN)/python -m pytest -p no:cacheprovider -n $(TEST_WORKERS) -m "not serial"
	$(BIN)/python -m pytest -p no:cacheprovider -m serial

lint: install
	$(BIN)/ruff check rag tests benchmarks ui
	$(BIN)/ruff format --check rag tests benchmarks ui

fmt: install
	$(BIN)/ruff check --fix rag tests benchmarks ui
	$(BIN)/ruff format rag tests benchmarks ui

eval: install
	$(BIN)/huashu eval run evals/sets/*_dev.jsonl --json evals/reports/dev.json --report evals/reports/dev.html
	$(BIN)/huashu eval run evals/sets/*_test.jsonl --json evals/reports/test.json --report evals/reports/test.html

bench: install
	$(BIN)/python benchmarks/draft_latency.py
	$(BIN)/python benchmarks/filter.py
	$(BIN)/python benchmarks/reindex.py
	$(BIN)/python benchmarks/llm_overhead.py

# Retrieval at 10,000 and 100,000 scripts (synthetic vectors): about 5 minutes.
bench-scale: install
	$(BIN)/python benchmarks/retrieval_scale.py

# The HTTP API under load (1 and 2 workers, 60 s each, a re-index running): about 4 minutes.
bench-api: install
	$(BIN)/python benchmarks/api_load.py

clean:
	rm -rf $(VENV) data
