# greenaolo: `make reproduce` rebuilds every figure (setting itself up on first use); `make test` tests.
# PROFILE=quick runs the same notebooks on smaller inputs. Each figure is one rule, so `make -j2` works
# and only what changed re-runs.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= full
# A typo costs hours (every notebook re-runs when the profile changes): refuse it before anything is recorded.
ifeq ($(filter $(PROFILE),quick full),)
$(error PROFILE=$(PROFILE) is not a profile: use PROFILE=quick or PROFILE=full)
endif
# Where pip finds PyTorch: empty for the configured index; TORCH_INDEX=https://download.pytorch.org/whl/cpu
# takes PyTorch's CPU-only wheel on Linux (about 200 MB instead of several GB of CUDA libraries).
TORCH_INDEX ?=
# Notebooks run JOBS at a time (each also spreads its sweeps over every core).
JOBS ?= 2
FIGURES := figures
INSTALLED := $(VENV)/.installed

# Every figure and table notebook (notebooks/NAME.ipynb -> figures/NAME.png + figures/data/NAME.nc).
AOLO_AGENT_NOTEBOOKS := aolo_convergence aolo_carbon_comparison aolo_sweeps aolo_actor_energy aolo_benchmark aolo_tuning
FIGURE_NOTEBOOKS := greenllm_table1 greenllm_table2 greenllm_fig1 greenllm_fig2 greenllm_pareto greenllm_water greenllm_milp greenllm_latency greenllm_year greenllm_measured aolo_carbon_model aolo_measured $(AOLO_AGENT_NOTEBOOKS)
FIGURE_PNGS := $(patsubst %,$(FIGURES)/%.png,$(FIGURE_NOTEBOOKS))
# A notebook's source (cells and their tags, not outputs or metadata): a notebook saved from JupyterLab with
# outputs, or with the kernel's metadata, does not make its figure out of date; an edited cell does.
NB_SOURCE := build/notebook_source
# What each notebook's output depends on: its paper's package and the shared modules (not the other paper).
SHARED := $(wildcard greenaolo/*.py)
GREENLLM_LIB := $(SHARED) $(shell find greenaolo/greenllm -name '*.py' -o -name '*.csv' -o -name '*.csv.gz' 2>/dev/null)
AOLO_LIB := $(SHARED) $(shell find greenaolo/aolo -name '*.py' -o -name '*.yaml' -o -name '*.journal' 2>/dev/null)
# What a trained run depends on (not the figure code: redrawing never retrains).
AOLO_TRAIN_LIB := $(SHARED) $(addprefix greenaolo/aolo/,__init__.py config.py carbon.py env.py requests.py oracle.py heuristics.py evaluation.py neurons.py popsan.py sac.py td3.py training.py runs.py hyperparams/agents.yaml)
AOLO_TUNED := greenaolo/aolo/hyperparams/tuned.yaml

# AOLO training runs: one file per (algorithm, variant, seed), so `make -j2` trains two side by side, each on
# one thread; the tuned runs also depend on tuned.yaml. The agents and seeds are read from the profile's `algorithms` and
# `seeds` in hyperparams/agents.yaml, their one home
# (its `PROFILE: {..., algorithms: [...], seeds: [0, 1, ...]}` line; `make agents` and `make seeds` print them).
AOLO_RUNS := $(FIGURES)/data/aolo_runs
AOLO_HYPERPARAMS := greenaolo/aolo/hyperparams/agents.yaml
AOLO_ALGORITHMS := $(shell sed -n 's/^ *$(PROFILE): {.*algorithms: \[\([a-z0-9_, ]*\)\].*/\1/p' $(AOLO_HYPERPARAMS) | tr -d ,)
AOLO_SEEDS := $(shell sed -n 's/^ *$(PROFILE): {.*seeds: \[\([0-9, ]*\)\].*/\1/p' $(AOLO_HYPERPARAMS) | tr -d ,)
aolo_runs_of = $(foreach a,$(AOLO_ALGORITHMS),$(foreach s,$(AOLO_SEEDS),$(AOLO_RUNS)/$(a)_$(1)_seed$(s).nc))
AOLO_RUN_FILES := $(call aolo_runs_of,default) $(call aolo_runs_of,tuned)

.PHONY: help setup reproduce report report-kept keep readme verify figures runs seeds agents tune test test-fast lint lock bench lab clean FORCE
# A notebook that fails after saving its figure must not leave that figure looking up to date.
.DELETE_ON_ERROR:

help:
	@echo "make setup       create .venv (torch==2.13.0 first, then greenaolo[dev]); a no-op when up to date"
	@echo "make reproduce   rebuild every figure and table into figures/ (PROFILE=quick|full, default full; JOBS=2)"
	@echo "make report      the browsable HTML report of the notebooks make reproduce executed (build/report/html/index.html)"
	@echo "make keep        keep the last run's datasets in results/PROFILE/ (the README's numbers are tested against them)"
	@echo "make report-kept the full profile's site from results/full, in seconds (nothing trained or solved)"
	@echo "make readme      the README's figure table rendered from results/full (after make keep)"
	@echo "make verify      the last run's datasets against the kept ones of its profile (results/PROFILE/data)"
	@echo "make test        run the whole test suite and the linter (sets up first)"
	@echo "make test-fast   the inner loop: every test but the slow ones (notebooks, wheel, training, browser)"
	@echo "make lint        ruff on the code (a small rule set: pyproject.toml [tool.ruff])"
	@echo "make lock        refresh requirements.lock (pip-compile with hashes) from pyproject.toml"
	@echo "make bench       run the benchmarks (scripts/bench.py)"
	@echo "make tune        tune every AOLO agent with Optuna (resumable; TUNE_PROFILE=full|quick) into hyperparams/tuned.yaml"
	@echo "make lab         JupyterLab on the repository"
	@echo "make clean       remove build/ and figures/"

setup: $(INSTALLED)

# The exact versions of requirements.lock (pip-compile --generate-hashes: every package pinned with its hashes),
# torch first (it is not in the lock: its build depends on the index, see TORCH_INDEX), then greenaolo itself
# without resolving again. `make lock` refreshes the lock from pyproject.toml.
$(INSTALLED): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip install --quiet --no-deps cffconvert==2.0.0  # only its CFF schema (tests/test_citation.py); its pins are outdated
	@if [ -d .git ]; then $(VENV)/bin/nbstripout --install >/dev/null 2>&1 || true; fi
	@touch $@

# build/profile holds the last PROFILE; it is rewritten only when PROFILE changes, so switching profile
# re-runs every notebook and repeating one does nothing.
build/profile: FORCE
	@mkdir -p build
	@echo "$(PROFILE)" | cmp -s - $@ || echo "$(PROFILE)" > $@

# One make reproduce per checkout at a time (build/reproduce.lock): a second one says so and stops.
# Each command prints whole lines as they come, named after what it runs ("NAME: running (16 s)" every 8 s
# while it works), so the two jobs' lines interleave readably and the log never goes quiet (make's
# --output-sync would hold each command's lines back until it ends).
reproduce: $(INSTALLED)
	@mkdir -p build
	@flock -n -E 75 build/reproduce.lock $(MAKE) --no-print-directory -j$(JOBS) figures; status=$$?; \
	if [ $$status -eq 75 ]; then echo "make reproduce is already running in this checkout (build/reproduce.lock): wait for it, or stop it first"; fi; \
	exit $$status

figures: $(FIGURE_PNGS)

runs: $(AOLO_RUN_FILES)

seeds:
	@echo $(AOLO_SEEDS)

agents:
	@echo $(AOLO_ALGORITHMS)

# The static site of the executed notebooks (Sphinx + myst-nb, offline); open build/report/html/index.html.
# It shows the profile last reproduced (never starts one) and refuses notebooks that did not finish.
# Keep the last run with the code (results/PROFILE): the README's numbers are rendered from results/full.
keep: $(INSTALLED)
	$(PY) scripts/keep_results.py $(FIGURES) build/notebooks

# The last run's datasets against the kept ones of its profile, value for value.
verify: $(INSTALLED)
	$(PY) -m greenaolo compare $(FIGURES)/data

# The README's figure table rendered from the kept full-profile datasets (every number computed).
readme: $(INSTALLED)
	$(PY) -m greenaolo findings results/full/data --write README.md

# The full profile's site from the kept results (results/full): no training, no solving.
report-kept: $(INSTALLED)
	$(PY) -m greenaolo report --kept results/full --out-dir build/report-kept

report: $(INSTALLED)
	$(PY) -m greenaolo report --executed-dir build/notebooks --data-dir $(FIGURES)/data --out-dir build/report

# Setup is order-only: reinstalling (pyproject.toml changed) does not by itself re-run every notebook.
.PRECIOUS: $(NB_SOURCE)/%.json
$(NB_SOURCE)/%.json: notebooks/%.ipynb FORCE | $(INSTALLED)
	@$(PY) -m greenaolo.notebooks source $< $@

$(FIGURES)/greenllm_%.png: $(NB_SOURCE)/greenllm_%.json $(GREENLLM_LIB) build/profile | $(INSTALLED)
	$(PY) -m greenaolo run greenllm_$* --profile $(PROFILE) --output-dir $(FIGURES) --executed-dir build/notebooks --no-progress

$(FIGURES)/aolo_%.png: $(NB_SOURCE)/aolo_%.json $(AOLO_LIB) build/profile | $(INSTALLED)
	$(PY) -m greenaolo run aolo_$* --profile $(PROFILE) --output-dir $(FIGURES) --executed-dir build/notebooks --no-progress

# The measured configurations and the measured scenario read the shipped data (greenaolo/data, outside the LIBs).
$(FIGURES)/aolo_measured.png: greenaolo/data/mlenergy_v3_llm_configs.csv.gz
$(FIGURES)/greenllm_measured.png: $(wildcard greenaolo/data/*.csv greenaolo/data/*.csv.gz) greenaolo/measured.py

# $* is ALGORITHM_VARIANT_seedN, split from the right: an algorithm's name may hold "_" (sdrl_td3).
run_parts = $(subst _seed, ,$(1))
run_seed = $(lastword $(call run_parts,$(1)))
run_variant = $(lastword $(subst _, ,$(firstword $(call run_parts,$(1)))))
run_algorithm = $(patsubst %_$(call run_variant,$(1)),%,$(firstword $(call run_parts,$(1))))
$(AOLO_RUNS)/%.nc: $(AOLO_TRAIN_LIB) build/profile | $(INSTALLED)
	$(PY) -m greenaolo aolo train $(call run_algorithm,$*) $(call run_seed,$*) --variant $(call run_variant,$*) \
	  --profile $(PROFILE) --runs-dir $(AOLO_RUNS) --threads 1 --no-progress

$(call aolo_runs_of,tuned): $(AOLO_TUNED)

# The agent figures read the trained runs.
$(patsubst %,$(FIGURES)/%.png,$(AOLO_AGENT_NOTEBOOKS)): $(AOLO_RUN_FILES)

# Hyperparameter tuning (not part of reproduce, which trains from the committed tuned.yaml): each agent's
# Optuna study, resumed from its journal in the package's studies folder (remove a journal to start it again),
# then its best trial written into tuned.yaml. TUNE_PROFILE=quick runs the same code on a tiny budget.
TUNE_PROFILE ?= full
TUNE_STUDIES := greenaolo/aolo/hyperparams/studies
TUNED := greenaolo/aolo/hyperparams/tuned.yaml
tune: $(INSTALLED)
	@for a in $$($(PY) -c "from greenaolo.options import ALGORITHMS; print(*ALGORITHMS)"); do \
	  $(PY) -m greenaolo aolo tune $$a --profile $(TUNE_PROFILE) --storage $(TUNE_STUDIES) --write $(TUNED) || exit 1; \
	done

# Both cores, one test file per worker (a module's fixtures, such as the executed notebooks, are built once).
test: $(INSTALLED) lint
	@$(PY) -m pytest -n 2 --dist loadfile; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

test-fast: $(INSTALLED) lint
	@$(PY) -m pytest -n 2 -m "not slow and not full"; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

# pip-tools' pip-compile sees the index pip sees (so the lock installs where setup does); torch is left out and
# constrained to the CPU build that setup installs, so no CUDA package enters the lock.
LOCK_TORCH ?= torch==2.13.0+cpu
lock: $(INSTALLED)
	@mkdir -p build
	@echo "$(LOCK_TORCH)" > build/lock-constraints.txt
	$(VENV)/bin/pip-compile --quiet --extra dev --extra lab --generate-hashes --unsafe-package torch --strip-extras \
	  --no-emit-find-links --no-emit-index-url --constraint build/lock-constraints.txt -o requirements.lock pyproject.toml

lint: $(INSTALLED)
	$(VENV)/bin/ruff check greenaolo tests scripts

bench: $(INSTALLED)
	$(PY) scripts/bench.py

lab: $(INSTALLED)
	$(VENV)/bin/jupyter lab --notebook-dir=.

clean:
	rm -rf build $(FIGURES) .pytest_cache
