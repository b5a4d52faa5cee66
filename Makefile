# aipipe: `make demo` sets everything up and runs the main job on the sample fleet; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
AIPIPE := $(VENV)/bin/aipipe
SAMPLE := .aipipe/sample
REPORTS := .aipipe/reports
export AIPIPE_WORKSPACE ?= .aipipe/workspace.duckdb

.PHONY: demo test bench docs golden venv bq-venv system-deps clean help screenshots price-book

help:
	@echo "make demo   - install, generate the sample fleet, load it, print costs, write reports"
	@echo "make test   - install (Python packages, MariaDB, Chromium) and run the whole test suite"
	@echo "make bench  - run the benchmarks (prints ratios against same-run baselines)"
	@echo "make docs   - regenerate docs/cli.md from the CLI"
	@echo "make price-book - rebuild the shipped price book from tools/price_book_facts.csv"
	@echo "make screenshots - the README's report pictures (docs/report-*.png) from the sample fleet"
	@echo "make golden - regenerate the stacks' golden resource graphs (review the diff)"

# The venv is rebuilt when pyproject.toml changes. pulumi-policy pins protobuf 5 while ml-metadata needs
# protobuf < 5; its code runs on 4.25, so it is installed without its dependency pins.
$(VENV)/.installed: pyproject.toml setup.py
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (ml-metadata 1.17.1 has wheels for CPython 3.11 only)"; exit 2; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test]"
	$(PIP) install -q --no-deps "pulumi-policy==1.21.0"
	touch $@

venv: $(VENV)/.installed

# bqemulator (BigQuery's REST API served from DuckDB) pins its own DuckDB and needs protobuf 6: it lives in its
# own venv, and the billing tests start it from there. DuckDB's spatial extension is installed once from the
# wheel's file, because DuckDB would otherwise download it.
BQ_VENV := .venv-bq
$(BQ_VENV)/.installed:
	test -d $(BQ_VENV) || $(PYTHON) -m venv $(BQ_VENV)
	$(BQ_VENV)/bin/pip install -q bqemulator "duckdb==1.5.*" "duckdb-extension-spatial==1.5.5" numpy
	$(BQ_VENV)/bin/python -c "import duckdb, duckdb_extension_spatial, pathlib; \
	  ext = next(pathlib.Path(duckdb_extension_spatial.__file__).parent.rglob('spatial.duckdb_extension')); \
	  duckdb.connect().execute(f\"INSTALL '{ext}'\"); duckdb.connect().execute('LOAD spatial')"
	touch $@

bq-venv: $(BQ_VENV)/.installed

demo: venv
	bash .ci/system-deps demo
	$(AIPIPE) sample --runs 300 --days 30 --seed 7 --out $(SAMPLE) --force --billing-format parquet
	@echo "sample fleet written to $(SAMPLE)"
	$(AIPIPE) lineage snapshot --mlmd $(SAMPLE)/mlmd.sqlite --replace
	$(AIPIPE) billing load --billing '$(SAMPLE)/billing/*.parquet'
	$(AIPIPE) costs
	@echo "reports of the sample fleet:"
	$(AIPIPE) report --out $(REPORTS)

# The README's pictures of both reports: the top of each page as a laptop shows it, from the sample fleet's reports
# (written by `make demo` first), taken by headless Chromium, which also fails the target on any console error.
screenshots: demo system-deps
	$(PY) -m aipipe_ops.reports.browser $(REPORTS)/pipeline-costs.html docs/report-pipeline-costs.png 1366 1800
	$(PY) -m aipipe_ops.reports.browser $(REPORTS)/lineage-audit.html docs/report-lineage-audit.png 1366 1300

test: venv bq-venv system-deps
	$(PY) -m pytest -q -n 2

bench: venv
	$(PY) -m bench

docs: venv
	$(PY) -m aipipe_ops.cli_reference > docs/cli.md
	$(PY) tools/generate_docs.py

# The shipped price book (aipipe_ops/pricing/data/) from tools/price_book_facts.csv: review the diff.
price-book: venv
	$(PY) tools/build_price_book.py

# The stacks' golden resource graphs: regenerate deliberately, then review the diff.
golden: venv
	AIPIPE_UPDATE_GOLDEN=1 $(PY) -m pytest tests/stacks/test_stack_golden.py -q

system-deps:
	bash .ci/system-deps

clean:
	rm -rf $(VENV) .aipipe
