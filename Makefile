# hepreco — the two commands of the README work on a fresh machine: `make train` and `make test`.
# Each installs what it needs first (idempotent) into the active Python (virtualenv or conda) or, when
# none is active, into a .venv created here.
SHELL := /bin/bash
TORCH_VERSION ?= 2.13.0

ifneq ($(strip $(VIRTUAL_ENV)$(CONDA_PREFIX)),)
PYTHON ?= python
else
PYTHON ?= .venv/bin/python
endif

ARGS ?=
PYTEST_ARGS ?=

.PHONY: install train sweep test lint format bench clean help

help:
	@echo "make install  - install torch $(TORCH_VERSION) (if no torch yet) and hepreco with dev tools"
	@echo "make train    - python -m src.train task=pileup model=hept (extra Hydra overrides: ARGS='...')"
	@echo "make sweep    - Optuna sweep: python -m src.train -m hparams_search=pileup_optuna (ARGS='...')"
	@echo "make test     - run the test suite (extra pytest options: PYTEST_ARGS='...')"
	@echo "make bench    - HEPT vs full attention: time and peak memory vs number of objects"
	@echo "make lint     - ruff check and format check, import contracts between the layers of src/"

.venv/bin/python:
	python3 -m venv .venv
	.venv/bin/python -m pip install --upgrade pip

install: $(if $(filter .venv/bin/python,$(PYTHON)),.venv/bin/python)
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PYTHON) -m pip install "torch==$(TORCH_VERSION)"
	$(PYTHON) -m pip install -e ".[dev]"

train: install
	$(PYTHON) -m src.train task=pileup model=hept $(ARGS)

sweep: install
	$(PYTHON) -m src.train -m hparams_search=pileup_optuna $(ARGS)

test: install
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint: install
	$(PYTHON) -m ruff check src tests scripts hydra_plugins
	$(PYTHON) -m ruff format --check src tests scripts hydra_plugins
	$(PYTHON) -c "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(config_filename='pyproject.toml'))"

format: install
	$(PYTHON) -m ruff format src tests scripts hydra_plugins
	$(PYTHON) -m ruff check --fix src tests scripts hydra_plugins

bench: install
	$(PYTHON) scripts/bench_attention.py $(ARGS)

clean:
	rm -rf .pytest_cache .ruff_cache
