"""Shared fixtures: the paper instance, its M0 solution, and hand-sized scenarios."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from greenaolo.greenllm.scenario import paper_scenario, scenario_from_arrays
from greenaolo.solvers import SolverFallbackWarning

PROFILE = os.environ.get("GREENAOLO_PROFILE", "quick")
# PopSAN's torch.compile path costs seconds of compilation per network shape: tests run the eager fast path
# (same spikes and outputs) unless they ask for compile=True (tests/test_popsan.py does).
os.environ.setdefault("GREENAOLO_TORCH_COMPILE", "0")


#: Modules that are slow as a whole (make test-fast leaves them out): the wheel build, the browser, training.
SLOW_MODULES = {"test_wheel", "test_browser", "test_tuning", "test_training", "test_bench"}
#: Fixtures that run notebooks or train agents.
SLOW_FIXTURES = {"executed", "runs_dir", "trained"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
    if PROFILE == "full":
        return
    skip = pytest.mark.skip(reason="paper-scale run: set GREENAOLO_PROFILE=full")
    for item in items:
        if "full" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def paper():
    return paper_scenario(42)


@pytest.fixture(scope="session")
def m0(paper):
    from greenaolo.greenllm.optimise import solve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverFallbackWarning)
        return solve(paper, "M0")


def _tiny(n_area=1, n_dc=1, n_query=1, n_time=1, **overrides):
    """A hand-sized scenario: every value simple, so tests can compute the optimum by hand.

    Defaults: 100 queries of 10 input + 20 output tokens, 1e-3 / 2e-3 kWh per token, PUE 1.5, no
    renewables, price 0.1 $/kWh, theta 0.5 kg/kWh, tax 0.02 $/kg, WUE 1, EWIF 0.5, huge budgets and caps.
    Any variable can be overridden with a scalar or an array of its dims.
    """
    dims = {"area": n_area, "dc": n_dc, "query": n_query, "time": n_time, "resource": 3}
    from greenaolo.greenllm.scenario import SCHEMA

    defaults = dict(
        demand=100.0, input_tokens=10.0, output_tokens=20.0, token_energy_in=1e-3, token_energy_out=2e-3,
        pue=1.5, renewable=0.0, grid_limit=1e6, price=0.1, carbon_intensity=0.5, carbon_tax=0.02, wue=1.0,
        ewif=0.5, water_budget=1e9, resource_per_token=1e-3, capacity=1e9, data_per_token=0.004,
        bandwidth=1000.0, rtt=0.01, proc_delay=1e-4, delay_cap=1e6, delay_penalty=0.1,
    )
    defaults.update(overrides)
    values = {}
    for name, (var_dims, _, _) in SCHEMA.items():
        shape = tuple(dims[d] for d in var_dims)
        value = np.asarray(defaults[name], dtype=float)
        if value.ndim == 1 and len(shape) > 1 and len(value) == shape[0]:  # a list along the first dim
            value = value.reshape((-1,) + (1,) * (len(shape) - 1))
        values[name] = np.broadcast_to(value, shape).copy()
    return scenario_from_arrays(
        area=[f"a{i}" for i in range(n_area)], dc=[f"d{j}" for j in range(n_dc)],
        query=[f"q{k}" for k in range(n_query)], n_time=n_time, **values,
    )


@pytest.fixture(scope="session")
def tiny():
    """The hand-sized scenario factory :func:`_tiny`: ``tiny(n_dc=2, price=[0.1, 0.2])``."""
    return _tiny


@pytest.fixture(scope="session")
def small_hyperparams():
    """A factory of the package's hyperparameters made small enough to train in seconds: a 32 x 32 network,
    32 x 16 PopSANs, a short warm-up and a small batch; ``profile`` sets the ``quick`` budget, ``compile``
    the PopSANs', other keywords go to ``common``. Only sizes change: the training code is the package's own."""
    import copy

    from greenaolo.aolo.training import POPSAN_POLICIES, load_hyperparams

    def make(*, learning_starts=20, batch_size=16, profile=None, compile=None, **common):
        hp = copy.deepcopy(load_hyperparams())
        hp["common"].update(learning_starts=learning_starts, batch_size=batch_size, net_arch=[32, 32], **common)
        for algorithm in POPSAN_POLICIES:
            hp[algorithm]["popsan_kwargs"]["hidden_sizes"] = [32, 16]
            if compile is not None:
                hp[algorithm]["popsan_kwargs"]["compile"] = compile
        if profile is not None:
            hp["profiles"]["quick"] = dict(profile)
        return hp

    return make


@pytest.fixture(scope="session")
def write_tiny_runs(small_hyperparams):
    """A writer of untrained tiny SAC and SDRL agents (seed 0) saved as quick-profile runs in a folder, model
    and dataset with its digest, as ``train_run`` writes them: what the explorer tests need is the wiring from a
    run on disk to its action, not the quality of the action. Returns the folder."""

    def write(folder):
        import json

        import xarray as xr

        from greenaolo.aolo.config import AoloConfig
        from greenaolo.aolo.env import AoloEnv
        from greenaolo.aolo.runs import RUN_FIGURE, model_digest, run_paths
        from greenaolo.aolo.training import agent
        from greenaolo.io import write_dataset

        cfg = AoloConfig()
        folder.mkdir(parents=True, exist_ok=True)
        for algorithm in ("sac", "sdrl"):
            path, model_path = run_paths(folder, algorithm, 0)
            hp = small_hyperparams(learning_starts=60)
            agent(algorithm, AoloEnv(cfg), 0, hp).save(model_path)
            attrs = {"algorithm": algorithm, "seed": 0, "config": cfg.to_json(), "hyperparams": json.dumps(hp),
                     "model_sha256": model_digest(model_path)}
            write_dataset(xr.Dataset(attrs=attrs), path, profile="quick", figure=RUN_FIGURE, seeds=[0],
                          parameters={"algorithm": algorithm})
        return folder

    return write

