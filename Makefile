# `make train` and `make test` set up .venv on first use (torch, Lightning, Hydra, … from PyPI).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# make train's experiment: the conditional DCGAN on MNIST (its numbers: docs/results/speed.md);
# EXPERIMENT=dcgan_mnist: the unconditional one; any name in conf/experiment/
EXPERIMENT ?= cgan_mnist
ARGS ?=
PYTEST_ARGS ?=
# pytest-xdist workers (each runs torch on one thread; the suite takes about 5 minutes on 2 cores)
TEST_WORKERS ?= 2

.PHONY: install train test lint format tensorboard clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,sweeps,export,wandb,mlflow]"
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/python -m gan_experiments.train experiment=$(EXPERIMENT) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check gan_experiments gan_lab tests
	$(BIN)/ruff format --check gan_experiments gan_lab tests
	$(BIN)/lint-imports  # pyproject.toml [tool.importlinter]: gan_experiments never imports gan_lab

format: $(STAMP)
	$(BIN)/ruff check --fix gan_experiments gan_lab tests
	$(BIN)/ruff format gan_experiments gan_lab tests

tensorboard: $(STAMP)
	$(BIN)/tensorboard --logdir logs

clean:
	rm -rf logs/train logs/eval logs/generate logs/translate logs/export logs/score logs/mlruns .pytest_cache .ruff_cache \
		.import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
