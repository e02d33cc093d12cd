# Everyday targets. `make test` is the README's test command and what CI runs (.ci/run).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
export BENCH_DATA_ROOT ?= $(abspath $(DATA))

.PHONY: install install-browser test test-slurm test-integration test-all lint format run ablation perf tables langs lock clean

# One pinned environment: pip constraints keep torch on the 2.13.0 CPU build (no CUDA download).
install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c requirements/constraints.txt pip
	$(BIN)/python -m pip install -q -c requirements/constraints.txt torch
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -e ".[dev]"
	touch $@

install-browser:         ## Chromium + chromedriver for the leaderboard page test (Debian/Ubuntu, root)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver)

test: install            ## fast tests (default pytest selection) + lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

test-slurm: install      ## bench sweep --executor slurm on a running cluster (scripts/slurm-local up)
	$(BIN)/python -m pytest -m slurm

test-integration: install
	$(BIN)/python -m pytest -m integration

test-all: install         ## every tier (slurm and gpu tests skip without a cluster / a GPU)
	$(BIN)/python -m pytest -m ""

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

run: install             ## the main job, `full` on sw,yo,ha, on the offline default (records committed: skips)
	$(BIN)/bench run --method full --langs sw,yo,ha --backbone me5_small:ablation --seeds 2,3,4 --settings zero-shot,in-language --selection source-dev,target-dev

ablation: install        ## the me5_small method ablation (issue #17) in its order; resumable, skips what is committed
	$(BIN)/bench sweep --spec sweeps/me5-ablation.toml --settings zero-shot --workers 1
	$(BIN)/bench sweep --spec sweeps/me5-ablation.toml --tasks flores --workers 1
	$(BIN)/bench sweep --spec sweeps/me5-ablation.toml --workers 1
	$(BIN)/bench sweep --spec sweeps/me5-leave-one-out.toml --workers 1

perf: install            ## throughput vs transformers.Trainer -> results/perf/ (run on a quiet machine)
	$(BIN)/python benchmarks/throughput.py --backbone tiny_xlmr --examples 2048
	$(BIN)/python benchmarks/throughput.py --backbone tiny_xlmr --examples 2048 --precisions fp32 --threads 1 --tasks masakhaner,xnli

tables: install          ## regenerate README tables and leaderboards/generated/ from results/
	$(BIN)/bench paper
	$(BIN)/bench choose --spec sweeps/me5-search.toml --out leaderboards/generated/me5-search.md
	$(BIN)/bench summary --write README.md

langs: install
	$(BIN)/bench langs

lock: install            ## regenerate the pins from the current venv (review the diff)
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' > requirements/constraints.new
	@echo "wrote requirements/constraints.new; merge it into requirements/constraints.txt by hand"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
