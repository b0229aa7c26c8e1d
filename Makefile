# Workbench: `make run` starts the local stack, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SITE := $(VENV)/lib/python3.11/site-packages
PROTOS := $(shell find protos -name '*.proto' 2>/dev/null)
STAMP := $(VENV)/.installed
GEN_STAMP := gen/.generated

.PHONY: all venv gen run test lint typecheck layers unit bench clean

all: gen

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	echo "$(CURDIR)/gen" > $(SITE)/workbench-gen.pth
	touch $@

venv: $(STAMP)

$(GEN_STAMP): $(STAMP) $(PROTOS) tools/genproto.py
	$(BIN)/python tools/genproto.py
	touch $@

gen: $(GEN_STAMP)

run: gen
	$(BIN)/workbench run

lint: gen
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: gen
	$(BIN)/mypy

layers: gen
	$(BIN)/lint-imports

unit: gen
	$(BIN)/pytest

test: lint typecheck layers unit

bench: gen
	$(BIN)/python -m bench

clean:
	rm -rf gen $(VENV)
