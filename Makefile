# greenaolo: `make reproduce` rebuilds every figure (setting itself up on first use); `make test` tests.
# PROFILE=quick runs the same notebooks on smaller inputs. Each figure is one rule, so `make -j2` works
# and only what changed re-runs.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= full
# Notebooks run JOBS at a time (each also spreads its sweeps over every core).
JOBS ?= 2
FIGURES := figures
INSTALLED := $(VENV)/.installed

# Every figure and table notebook (notebooks/NAME.ipynb -> figures/NAME.png + figures/data/NAME.nc).
AOLO_AGENT_NOTEBOOKS := aolo_convergence aolo_carbon_comparison aolo_sweeps aolo_actor_energy
FIGURE_NOTEBOOKS := greenllm_table1 greenllm_table2 greenllm_fig1 greenllm_fig2 greenllm_pareto greenllm_water greenllm_milp greenllm_latency greenllm_year aolo_carbon_model $(AOLO_AGENT_NOTEBOOKS)
FIGURE_PNGS := $(patsubst %,$(FIGURES)/%.png,$(FIGURE_NOTEBOOKS))
# What each notebook's output depends on: its paper's package and the shared modules (not the other paper).
SHARED := $(wildcard greenaolo/*.py)
GREENLLM_LIB := $(SHARED) $(shell find greenaolo/greenllm -name '*.py' -o -name '*.csv' -o -name '*.csv.gz' 2>/dev/null)
AOLO_LIB := $(SHARED) $(shell find greenaolo/aolo -name '*.py' -o -name '*.yaml' 2>/dev/null)
# What a trained run depends on (not the figure code: redrawing never retrains).
AOLO_TRAIN_LIB := $(SHARED) $(addprefix greenaolo/aolo/,__init__.py config.py carbon.py env.py requests.py oracle.py heuristics.py evaluation.py popsan.py sac.py training.py runs.py hyperparams/agents.yaml)

# AOLO training runs: one Make rule per (algorithm, seed), so `make -j2` trains two side by side, each on
# one thread. The seeds are read from the profile's `seeds` in hyperparams/agents.yaml, their one home
# (its `PROFILE: {..., seeds: [0, 1, ...]}` line; `make seeds` prints them).
AOLO_RUNS := $(FIGURES)/data/aolo_runs
AOLO_HYPERPARAMS := greenaolo/aolo/hyperparams/agents.yaml
AOLO_SEEDS := $(shell sed -n 's/^ *$(PROFILE): {.*seeds: \[\([0-9, ]*\)\].*/\1/p' $(AOLO_HYPERPARAMS) | tr -d ,)
AOLO_RUN_FILES := $(foreach a,sac sdrl,$(foreach s,$(AOLO_SEEDS),$(AOLO_RUNS)/$(a)_seed$(s).nc))

.PHONY: help setup reproduce report figures runs seeds test bench lab clean FORCE
# A notebook that fails after saving its figure must not leave that figure looking up to date.
.DELETE_ON_ERROR:

help:
	@echo "make setup       create .venv (torch==2.13.0 first, then greenaolo[dev]); a no-op when up to date"
	@echo "make reproduce   rebuild every figure and table into figures/ (PROFILE=quick|full, default full; JOBS=2)"
	@echo "make report      the browsable HTML report of every executed notebook (build/report/html/index.html; runs reproduce first)"
	@echo "make test        run the test suite (sets up first)"
	@echo "make bench       run the benchmarks (scripts/bench.py)"
	@echo "make lab         JupyterLab on the repository"
	@echo "make clean       remove build/ and figures/"

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	@if [ -d .git ]; then $(VENV)/bin/nbstripout --install >/dev/null 2>&1 || true; fi
	@touch $@

# build/profile holds the last PROFILE; it is rewritten only when PROFILE changes, so switching profile
# re-runs every notebook and repeating one does nothing.
build/profile: FORCE
	@mkdir -p build
	@echo "$(PROFILE)" | cmp -s - $@ || echo "$(PROFILE)" > $@

reproduce: $(INSTALLED)
	@$(MAKE) --no-print-directory --output-sync=target -j$(JOBS) figures

figures: $(FIGURE_PNGS)

runs: $(AOLO_RUN_FILES)

seeds:
	@echo $(AOLO_SEEDS)

# The static site of the executed notebooks (Sphinx + myst-nb, offline); open build/report/html/index.html.
report: reproduce
	$(PY) -m greenaolo report --executed-dir build/notebooks --data-dir $(FIGURES)/data --out-dir build/report

# Setup is order-only: reinstalling (pyproject.toml changed) does not by itself re-run every notebook.
$(FIGURES)/greenllm_%.png: notebooks/greenllm_%.ipynb $(GREENLLM_LIB) build/profile | $(INSTALLED)
	$(PY) -m greenaolo run greenllm_$* --profile $(PROFILE) --output-dir $(FIGURES) --executed-dir build/notebooks

$(FIGURES)/aolo_%.png: notebooks/aolo_%.ipynb $(AOLO_LIB) build/profile | $(INSTALLED)
	$(PY) -m greenaolo run aolo_$* --profile $(PROFILE) --output-dir $(FIGURES) --executed-dir build/notebooks

$(AOLO_RUNS)/sac_seed%.nc: $(AOLO_TRAIN_LIB) build/profile | $(INSTALLED)
	$(PY) -m greenaolo aolo train sac $* --profile $(PROFILE) --runs-dir $(AOLO_RUNS) --threads 1 --no-progress

$(AOLO_RUNS)/sdrl_seed%.nc: $(AOLO_TRAIN_LIB) build/profile | $(INSTALLED)
	$(PY) -m greenaolo aolo train sdrl $* --profile $(PROFILE) --runs-dir $(AOLO_RUNS) --threads 1 --no-progress

# The agent figures read the trained runs.
$(patsubst %,$(FIGURES)/%.png,$(AOLO_AGENT_NOTEBOOKS)): $(AOLO_RUN_FILES)

test: $(INSTALLED)
	@$(PY) -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

bench: $(INSTALLED)
	$(PY) scripts/bench.py

lab: $(INSTALLED)
	$(VENV)/bin/jupyter lab --notebook-dir=.

clean:
	rm -rf build $(FIGURES) .pytest_cache
