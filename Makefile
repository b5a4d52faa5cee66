# aipipe: `make demo` sets everything up and runs the main job on the sample fleet; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
AIPIPE := $(VENV)/bin/aipipe
SAMPLE := .aipipe/sample
export AIPIPE_WORKSPACE ?= .aipipe/workspace.duckdb

.PHONY: demo test bench docs venv system-deps clean help

help:
	@echo "make demo   - install, generate the sample fleet, load it, print costs, write reports"
	@echo "make test   - install (Python packages, MariaDB, Chromium) and run the whole test suite"
	@echo "make bench  - run the benchmarks (prints ratios against same-run baselines)"
	@echo "make docs   - regenerate docs/cli.md from the CLI"

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

demo: venv
	$(AIPIPE) sample --runs 300 --days 30 --seed 7 --out $(SAMPLE) --force
	@echo "sample fleet written to $(SAMPLE)"

test: venv system-deps
	$(PY) -m pytest -q -n 2

bench: venv
	$(PY) -m bench

docs: venv
	$(PY) -m aipipe_ops.cli_reference > docs/cli.md

system-deps:
	bash .ci/system-deps

clean:
	rm -rf $(VENV) .aipipe
