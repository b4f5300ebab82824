"""Training SAC and SDRL on AOLO, as data (rl-baselines3-zoo style).

Hyperparameters live in ``hyperparams/agents.yaml``: SAC and SDRL share every ``common`` entry (critic,
gamma, tau, batch, buffer, entropy mode) and differ only in the actor (SDRL: :class:`PopSANPolicy`).
:func:`train` runs one (algorithm, seed, configuration) and returns its learning curve and final
evaluation as one Dataset, with the exact hyperparameters, configuration and seed in its attributes.
Every evaluation uses the same fixed, seeded requests (:func:`greenaolo.aolo.requests.evaluation_requests`)
with deterministic actions, and reports gCO2e, never rewards alone.
"""

from __future__ import annotations

import copy
import json
import time
from importlib import resources
from typing import Any

import numpy as np
import xarray as xr
from stable_baselines3.common.callbacks import BaseCallback
from tqdm.auto import tqdm

from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.env import AoloEnv, decision, observation, reward
from greenaolo.aolo.evaluation import evaluate
from greenaolo.aolo.oracle import oracle
from greenaolo.aolo.popsan import PopSANPolicy
from greenaolo.aolo.requests import evaluation_requests
from greenaolo.aolo.sac import AoloSAC
from greenaolo.checks import boolean, number, parse_yaml, read_yaml
from greenaolo.options import ALGORITHMS, MAX_REQUESTS

__all__ = ["ALGORITHMS", "HyperparameterError", "agent", "evaluate_model", "load_hyperparams", "mean_reward", "train",
           "validate_hyperparams"]



class HyperparameterError(ValueError):
    """A hyperparameter file has an unknown key, a missing section or a value out of range."""


def _int(v: Any, low: int, high: float = 10**12) -> Any:
    return number("", "", v, low, high, integer=True)


def _real(v: Any, low: float, high: float) -> Any:
    return number("", "", v, low, high)


def _ent_coef(v: Any) -> Any:
    if isinstance(v, str) and (v == "auto" or v.startswith("auto_")):
        return v if v == "auto" else (_real(float(v[5:]), 1e-12, 1e6) and v)
    return _real(v, 1e-12, 1e6)


def _ints(v: Any, low: int) -> Any:
    if not isinstance(v, (list, tuple)) or not v:
        raise TypeError(f"{v!r} is not a list of integers")
    return [_int(x, low) for x in v]


def _mapping(v: Any) -> Any:
    if not isinstance(v, dict):
        raise TypeError(f"{v!r} is not a mapping")
    return v


def _pair(v: Any) -> Any:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise TypeError(f"{v!r} is not a pair [low, high]")
    return [_real(x, -1e6, 1e6) for x in v]


#: Every key a hyperparameter file may hold, with its check (raising ValueError or TypeError).
SCHEMA: dict[str, dict[str, Any]] = {
    "common": {
        "learning_rate": lambda v: _real(v, 1e-12, 1.0),
        "buffer_size": lambda v: _int(v, 1),
        "learning_starts": lambda v: _int(v, 0),
        "batch_size": lambda v: _int(v, 1, 1_000_000),
        "tau": lambda v: _real(v, 1e-12, 1.0),
        "gamma": lambda v: _real(v, 0.0, 1.0),
        "train_freq": lambda v: _int(v, 1),
        "gradient_steps": lambda v: _int(v, 1, 10_000),
        "ent_coef": _ent_coef,
        "target_entropy": lambda v: v if v == "auto" else _real(v, -1e6, 1e6),
        "net_arch": lambda v: _ints(v, 1),
        "optimizer_kwargs": _mapping,
    },
    "sac": {},
    "sdrl": {
        "popsan_kwargs": _mapping,
        "snn_lr_scale": lambda v: _real(v, 1e-12, 1e3),
    },
    "popsan_kwargs": {
        "encoder_pop_dim": lambda v: _int(v, 1, 10_000),
        "decoder_pop_dim": lambda v: _int(v, 1, 10_000),
        "hidden_sizes": lambda v: _ints(v, 1),
        "spike_ts": lambda v: _int(v, 1, 1_000),
        "mean_range": _pair,
        "std": lambda v: _real(v, 1e-12, 1e6),
        "compile": lambda v: boolean("", "compile", v),
    },
    "profile": {
        "total_timesteps": lambda v: _int(v, 1),
        "eval_every": lambda v: _int(v, 1),
        "n_eval": lambda v: _int(v, 1, MAX_REQUESTS),
        "seeds": lambda v: _ints(v, 0),
    },
}


def validate_hyperparams(hp: Any, source: str = "hyperparameters") -> dict[str, Any]:
    """Check every entry of a hyperparameter mapping before anything trains.

    :param source: the file it came from, for the messages.
    :raises HyperparameterError: naming the file, the key and the valid range.
    """
    if not isinstance(hp, dict):
        raise HyperparameterError(f"{source}: expected a mapping with sections common, sac, sdrl, profiles")
    for section in ("common", *ALGORITHMS, "profiles"):
        if section not in hp:
            raise HyperparameterError(f"{source}: the section {section!r} is missing")
    unknown = sorted(set(hp) - {"common", *ALGORITHMS, "profiles"})
    if unknown:
        raise HyperparameterError(f"{source}: unknown section {unknown[0]!r}; valid: common, {', '.join(ALGORITHMS)}, profiles")

    def check(where: str, values: Any, schema: dict[str, Any], required: tuple[str, ...] = ()) -> None:
        if not isinstance(values, dict):
            raise HyperparameterError(f"{source}: {where} must be a mapping, not {values!r}")
        for key in required:
            if key not in values:
                raise HyperparameterError(f"{source}: {where}.{key} is missing")
        for key, value in values.items():
            if key not in schema:
                raise HyperparameterError(f"{source}: unknown key {where}.{key}; valid keys: {', '.join(schema)}")
            try:
                schema[key](value)
            except (TypeError, ValueError) as err:
                text = str(err)  # "=value is out of range: ..." from the number checks
                raise HyperparameterError(f"{source}: {where}.{key}{'' if text.startswith('=') else ': '}{text}") from None

    check("common", hp["common"], SCHEMA["common"], ("learning_rate", "batch_size", "gamma"))
    for algorithm in ALGORITHMS:
        check(algorithm, hp[algorithm] or {}, SCHEMA[algorithm])
    check("sdrl.popsan_kwargs", (hp["sdrl"] or {}).get("popsan_kwargs", {}), SCHEMA["popsan_kwargs"])
    if not isinstance(hp["profiles"], dict) or not hp["profiles"]:
        raise HyperparameterError(f"{source}: profiles must be a mapping of profile names to budgets")
    for name, budget in hp["profiles"].items():
        check(f"profiles.{name}", budget, SCHEMA["profile"], tuple(SCHEMA["profile"]))
    return hp


def load_hyperparams(path: str | None = None) -> dict[str, Any]:
    """The hyperparameter file (default: the package's ``hyperparams/agents.yaml``), validated.

    :raises HyperparameterError: the file cannot be read or parsed, or an entry is invalid (file and key named).
    """
    if path is None:
        source = "hyperparams/agents.yaml"
        hp = parse_yaml(resources.files("greenaolo.aolo").joinpath(source).read_text(), source, HyperparameterError)
    else:
        source = str(path)
        hp = read_yaml(path, HyperparameterError)
    return validate_hyperparams(hp, source)


def agent(algorithm: str, env: AoloEnv, seed: int, hyperparams: dict[str, Any]) -> AoloSAC:
    """An SB3 SAC (:class:`~greenaolo.aolo.sac.AoloSAC`: SB3's update, with the exact ``gamma = 0`` shortcut)
    for ``algorithm`` (``"sac"``: MLP actor; ``"sdrl"``: PopSAN actor), seeded."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} is unknown: expected one of {ALGORITHMS}")
    common = copy.deepcopy(hyperparams["common"])
    policy_kwargs = {"net_arch": common.pop("net_arch")}
    if "optimizer_kwargs" in common:
        policy_kwargs["optimizer_kwargs"] = dict(common.pop("optimizer_kwargs"))
    policy: Any = "MlpPolicy"
    if algorithm == "sdrl":
        policy = PopSANPolicy
        extra = copy.deepcopy(hyperparams["sdrl"])
        popsan = extra.get("popsan_kwargs", {})
        for key in ("hidden_sizes", "mean_range"):
            if key in popsan:
                popsan[key] = tuple(popsan[key])
        policy_kwargs.update(popsan_kwargs=popsan, snn_lr_scale=extra.get("snn_lr_scale", 0.1))
    return AoloSAC(policy, env, seed=seed, policy_kwargs=policy_kwargs, device="cpu", verbose=0, **common)


def evaluate_model(model: AoloSAC, cfg: AoloConfig, requests: dict, *, method: str) -> xr.Dataset:
    """Deterministic actions of ``model`` on ``requests``: :func:`greenaolo.aolo.evaluation.evaluate` plus the
    mean reward."""
    actions, _ = model.predict(observation(requests, cfg), deterministic=True)
    kappa, p = decision(actions, cfg)
    ds = evaluate(kappa, p, requests, cfg, method=method)
    ds["mean_reward"] = xr.DataArray(mean_reward(ds, requests, cfg), attrs={"units": "1", "long_name": "mean reward"})
    return ds


def mean_reward(outcome: xr.Dataset, requests: dict, cfg: AoloConfig) -> float:
    """The environment's mean reward for the per-request ``outcome`` of
    :func:`greenaolo.aolo.evaluation.evaluate` on ``requests``."""
    r = reward(outcome.carbon.values, outcome.qoe.values, requests["qoe_threshold"], outcome.latency.values,
               requests["latency_budget"], cfg, AoloEnv(cfg).carbon_scale)
    return float(np.mean(r))


class _EvalAndProgress(BaseCallback):
    """Evaluates every ``every`` steps on the fixed requests; drives a tqdm bar."""

    def __init__(self, cfg: AoloConfig, requests: dict, every: int, total: int, desc: str, progress: bool):
        super().__init__()
        self.cfg, self.requests, self.every = cfg, requests, every
        self.rows: list[dict[str, float]] = []
        self.bar = tqdm(total=total, desc=desc, unit="step", disable=not progress)

    def _record(self) -> None:
        ds = evaluate_model(self.model, self.cfg, self.requests, method="eval")
        self.rows.append({"step": self.num_timesteps, "reward": float(ds.mean_reward), "carbon_g": float(ds.carbon_g),
                          "qoe_violation_rate": float(ds.qoe_violation_rate),
                          "latency_violation_rate": float(ds.latency_violation_rate)})

    def _on_training_start(self) -> None:
        self._record()

    def _on_step(self) -> bool:
        self.bar.update(1)
        if self.num_timesteps % self.every == 0:
            self._record()
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


CURVE = {
    "reward": ("1", "evaluation mean reward"),
    "carbon_g": ("g", "evaluation mean carbon (CO2e) per request"),
    "qoe_violation_rate": ("1", "evaluation QoE violation rate"),
    "latency_violation_rate": ("1", "evaluation latency violation rate"),
}


def train(
    algorithm: str,
    seed: int,
    *,
    config: AoloConfig | None = None,
    profile: str = "quick",
    hyperparams: dict[str, Any] | None = None,
    total_timesteps: int | None = None,
    progress: bool = True,
    return_model: bool = False,
) -> xr.Dataset | tuple[xr.Dataset, AoloSAC]:
    """Train one agent and return its learning curve (``curve_*`` on ``step``) and final evaluation
    (per ``request``, with ``carbon_g``, violation rates and ``gap_to_oracle``), exact settings in attrs.

    :param algorithm: ``"sac"`` or ``"sdrl"``.
    :param seed: seeds the agent, the environment and its requests (the evaluation set is fixed).
    :param profile: which ``profiles`` entry of the hyperparameter file sets the budget.
    :param total_timesteps: overrides the profile's budget.
    :param return_model: also return the trained model (``(dataset, model)``).
    """
    cfg = config or AoloConfig()
    hp = validate_hyperparams(hyperparams) if hyperparams is not None else load_hyperparams()
    if profile not in hp["profiles"]:
        raise ValueError(f"profile={profile!r} is unknown: expected one of {sorted(hp['profiles'])}")
    budget = dict(hp["profiles"][profile])
    steps = budget["total_timesteps"] if total_timesteps is None else total_timesteps
    steps = number("", "total_timesteps", steps, 1, 2**62, integer=True)
    requests = evaluation_requests(cfg, int(budget["n_eval"]))
    env = AoloEnv(cfg)
    env.reset(seed=seed)
    model = agent(algorithm, env, seed, hp)
    callback = _EvalAndProgress(cfg, requests, int(budget["eval_every"]), steps, f"{algorithm} seed {seed}", progress)
    started = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    seconds = time.perf_counter() - started
    # SB3 trains after the callback has seen a step, so the last point is re-evaluated on the final model.
    if callback.rows[-1]["step"] == model.num_timesteps:
        callback.rows.pop()
    callback._record()
    final = evaluate_model(model, cfg, requests, method=algorithm)
    best = evaluate(*oracle(requests, cfg), requests, cfg, method="oracle")
    final["oracle_carbon_g"] = xr.DataArray(float(best.carbon_g), attrs={"units": "g", "long_name": "oracle mean carbon (CO2e)"})
    final["gap_to_oracle"] = xr.DataArray(float(final.carbon_g) / float(best.carbon_g) - 1.0,
                                          attrs={"units": "1", "long_name": "relative carbon gap to the oracle"})
    steps_axis = [row["step"] for row in callback.rows]
    for name, (units, long_name) in CURVE.items():
        final[f"curve_{name}"] = xr.DataArray([row[name] for row in callback.rows], dims="step",
                                              attrs={"units": units, "long_name": long_name})
    final = final.assign_coords(step=("step", steps_axis, {"units": "1", "long_name": "training steps (environment steps)"}))
    final.attrs.update(
        algorithm=algorithm, seed=int(seed), config=cfg.to_json(), hyperparams=json.dumps(hp, sort_keys=True),
        total_timesteps=steps, train_seconds=seconds, steps_per_second=steps / seconds, profile=profile,
    )
    return (final, model) if return_model else final
