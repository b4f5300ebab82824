"""Training the AOLO agents (SAC, SDRL, TD3, DDPG, PPO, and TD3 and DDPG with a PopSAN actor), as data
(rl-baselines3-zoo style).

Hyperparameters live in ``hyperparams/agents.yaml``: SAC and SDRL share every ``common`` entry (critic,
gamma, tau, batch, buffer, entropy mode) and differ only in the actor (SDRL: :class:`PopSANPolicy`); so do
TD3 and ``sdrl_td3``, DDPG and ``sdrl_ddpg`` (:class:`PopSANTD3Policy`).
:func:`train` runs one (algorithm, seed, configuration) and returns its learning curve and final
evaluation as one Dataset, with the exact hyperparameters, configuration and seed in its attributes.
Every evaluation uses the same fixed, seeded requests (:func:`greenaolo.aolo.requests.evaluation_requests`)
with deterministic actions, and reports gCO2e, never rewards alone.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from importlib import resources
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from stable_baselines3 import PPO, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.utils import LinearSchedule
from tqdm.auto import tqdm

from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.env import AoloEnv, decision, observation, reward
from greenaolo.aolo.evaluation import evaluate, evaluate_oracle, gap_to_oracle
from greenaolo.aolo.popsan import PopSANPolicy, PopSANTD3Policy
from greenaolo.aolo.requests import evaluation_requests
from greenaolo.aolo.sac import AoloSAC
from greenaolo.aolo.td3 import AoloDDPG, AoloTD3
from greenaolo.checks import TooLargeError, boolean, memory_guard, number, parse_yaml, read_yaml
from greenaolo.options import ALGORITHMS, MAX_REQUESTS, VARIANTS

__all__ = ["ACCEPTS", "ALGORITHMS", "EvaluationCallback", "HyperparameterError", "MODEL_CLASSES", "ON_POLICY",
           "POPSAN_POLICIES", "check_trainable", "VARIANTS",
           "STEP_NAME", "acting_config", "budget_clock", "budgeted_agent", "curve_row", "environment_steps", "past_budget", "agent",
           "evaluate_model",
           "load_hyperparams", "mean_reward", "settings", "train", "validate_hyperparams"]



class HyperparameterError(ValueError):
    """A hyperparameter file has an unknown key, a missing section or a value out of range."""


def _int(v: Any, low: int, high: float = 10**12) -> Any:
    return number("", "", v, low, high, integer=True)


def _real(v: Any, low: float, high: float) -> Any:
    return number("", "", v, low, high)


def _ent_coef(v: Any) -> Any:
    if isinstance(v, str) and (v == "auto" or v.startswith("auto_")):
        return v if v == "auto" else (_real(float(v[5:]), 1e-12, 1e6) and v)
    return _real(v, 0.0, 1e6)


def _ints(v: Any, low: int) -> Any:
    if not isinstance(v, (list, tuple)) or not v:
        raise TypeError(f"{v!r} is not a list of integers")
    return [_int(x, low) for x in v]


def _agents(v: Any) -> Any:
    if not isinstance(v, list) or not v or len(set(map(str, v))) != len(v) or not set(v) <= set(ALGORITHMS):
        raise ValueError(f"={v!r} is invalid: expected a list of distinct agents of {ALGORITHMS}")
    return v


def _mapping(v: Any) -> Any:
    if not isinstance(v, dict):
        raise TypeError(f"{v!r} is not a mapping")
    return v


def _pair(v: Any) -> Any:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise TypeError(f"{v!r} is not a pair [low, high]")
    return [_real(x, -1e6, 1e6) for x in v]


#: The checks of every hyperparameter key (each raises ValueError or TypeError), whatever section holds it.
KEYS: dict[str, Any] = {
    # shared by the off-policy agents (SAC, SDRL, TD3, DDPG)
    "learning_rate": lambda v: _real(v, 1e-12, 1.0),
    "buffer_size": lambda v: _int(v, 1),
    "learning_starts": lambda v: _int(v, 0),
    "batch_size": lambda v: _int(v, 1, 1_000_000),
    "tau": lambda v: _real(v, 1e-12, 1.0),
    "gamma": lambda v: _real(v, 0.0, 1.0),
    "train_freq": lambda v: _int(v, 1),
    "gradient_steps": lambda v: _int(v, 1, 10_000),
    "net_arch": lambda v: _ints(v, 1),
    "optimizer_kwargs": _mapping,
    # every agent: the learning rate falls linearly to this fraction of itself over the run (1: constant)
    "learning_rate_final": lambda v: _real(v, 0.0, 1.0),
    # every agent: the action's answer length spans only the useful range (docs/aolo.md#useful-range)
    "useful_kappa_range": lambda v: boolean("", "useful_kappa_range", v),
    # SAC and SDRL
    "ent_coef": _ent_coef,
    "target_entropy": lambda v: v if v == "auto" else _real(v, -1e6, 1e6),
    # SDRL and the other PopSAN agents
    "popsan_kwargs": _mapping,
    "snn_lr_scale": lambda v: _real(v, 1e-12, 1e3),
    # TD3 and DDPG: Gaussian exploration noise on the action, in units of the action range [-1, 1]
    "action_noise_std": lambda v: _real(v, 0.0, 10.0),
    "action_noise_final": lambda v: _real(v, 0.0, 10.0),
    "action_noise_decay_steps": lambda v: _int(v, 1, 10**9),
    "policy_delay": lambda v: _int(v, 1, 1_000),
    "target_policy_noise": lambda v: _real(v, 0.0, 10.0),
    "target_noise_clip": lambda v: _real(v, 0.0, 10.0),
    # PPO
    "n_steps": lambda v: _int(v, 2, 10**7),
    "n_epochs": lambda v: _int(v, 1, 1_000),
    "gae_lambda": lambda v: _real(v, 0.0, 1.0),
    "clip_range": lambda v: _real(v, 1e-6, 10.0),
    "vf_coef": lambda v: _real(v, 0.0, 1e3),
    "max_grad_norm": lambda v: _real(v, 1e-6, 1e6),
    "log_std_init": lambda v: _real(v, -20.0, 5.0),
}

_OFF_POLICY = ("learning_rate", "buffer_size", "learning_starts", "batch_size", "tau", "gamma", "train_freq",
               "gradient_steps", "net_arch", "optimizer_kwargs", "learning_rate_final", "useful_kappa_range")
_ENTROPY = ("ent_coef", "target_entropy")
_NOISE = ("action_noise_std", "action_noise_final", "action_noise_decay_steps")
_TD3 = (*_OFF_POLICY, *_NOISE, "policy_delay", "target_policy_noise", "target_noise_clip")
_DDPG = (*_OFF_POLICY, *_NOISE)
_POPSAN = ("popsan_kwargs", "snn_lr_scale")
#: The keys each algorithm takes: from ``common`` (those it takes) and from its own section. A PopSAN agent takes
#: its plain twin's and the PopSAN's.
ACCEPTS: dict[str, tuple[str, ...]] = {
    "sac": (*_OFF_POLICY, *_ENTROPY),
    "sdrl": (*_OFF_POLICY, *_ENTROPY, *_POPSAN),
    "td3": _TD3,
    "ddpg": _DDPG,
    "ppo": ("learning_rate", "batch_size", "gamma", "net_arch", "optimizer_kwargs", "n_steps", "n_epochs",
            "gae_lambda", "clip_range", "ent_coef", "vf_coef", "max_grad_norm", "log_std_init", "learning_rate_final",
            "useful_kappa_range"),
    "sdrl_td3": (*_TD3, *_POPSAN),
    "sdrl_ddpg": (*_DDPG, *_POPSAN),
}
#: Keys every algorithm's settings must end up with (from ``common`` or its section).
REQUIRED = ("learning_rate", "batch_size", "gamma", "net_arch")

#: The keys of the sections that are not a list of hyperparameters.
SCHEMA: dict[str, dict[str, Any]] = {
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
        "gradient_updates": lambda v: _int(v, 1),  # the budget of every run (docs/aolo.md#compute-bound)
        "eval_every": lambda v: _int(v, 1),  # gradient updates (PPO: environment steps) between evaluations
        "n_eval": lambda v: _int(v, 1, MAX_REQUESTS),
        "seeds": lambda v: _ints(v, 0),
        "algorithms": _agents,  # optional: the agents the profile trains (default: every agent)
    },
}


def settings(hyperparams: dict[str, Any], algorithm: str) -> dict[str, Any]:
    """One algorithm's hyperparameters: the ``common`` entries it takes (:data:`ACCEPTS`), then its own
    section's, which win."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} is unknown: expected one of {ALGORITHMS}")
    common = {k: v for k, v in (hyperparams.get("common") or {}).items() if k in ACCEPTS[algorithm]}
    return copy.deepcopy({**common, **(hyperparams.get(algorithm) or {})})


#: Bytes per replay-buffer transition: observation and next observation (5 float32 each), action (2),
#: reward, done and timeout (SB3's ReplayBuffer allocates them all up front).
BYTES_PER_TRANSITION = (5 + 5 + 2 + 3) * 4
#: Copies of each network's parameters held while training: actor, two critics, their targets, gradients and
#: Adam's two moments, in float32.
PARAMETER_COPIES = 4 * 12


def agent_memory(s: dict[str, Any]) -> float:
    """An agent's estimated training memory (bytes): its replay buffer (off-policy) and its networks' copies."""
    widths = [5, *(int(w) for w in s["net_arch"]), 2]
    parameters = sum(a * b + b for a, b in zip(widths, widths[1:]))
    return float(s.get("buffer_size", 0)) * BYTES_PER_TRANSITION + parameters * PARAMETER_COPIES


def validate_hyperparams(hp: Any, source: str = "hyperparameters") -> dict[str, Any]:
    """Check every entry of a hyperparameter mapping before anything trains.

    The mapping has a ``common`` section (entries each algorithm takes if it knows them: :data:`ACCEPTS`),
    one section per algorithm of :data:`~greenaolo.options.ALGORITHMS` and ``profiles`` (budgets and
    seeds).

    :param source: the file it came from, for the messages.
    :raises HyperparameterError: naming the file, the key and the valid range.
    """
    sections = ("common", *ALGORITHMS, "profiles")
    if not isinstance(hp, dict):
        raise HyperparameterError(f"{source}: expected a mapping with sections {', '.join(sections)}")
    for section in sections:
        if section not in hp:
            raise HyperparameterError(f"{source}: the section {section!r} is missing")
    unknown = sorted(set(hp) - set(sections))
    if unknown:
        raise HyperparameterError(f"{source}: unknown section {unknown[0]!r}; valid: {', '.join(sections)}")

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

    check("common", hp["common"] or {}, KEYS)
    for algorithm in ALGORITHMS:
        section = hp[algorithm] or {}
        check(algorithm, section, {k: KEYS[k] for k in ACCEPTS[algorithm]})
        missing = [k for k in REQUIRED if k not in settings(hp, algorithm)]
        if missing:
            raise HyperparameterError(f"{source}: {algorithm} has no {missing[0]} (in common or in {algorithm})")
        if algorithm == "ppo" and isinstance(settings(hp, algorithm).get("ent_coef"), str):
            raise HyperparameterError(f"{source}: ppo's ent_coef={settings(hp, algorithm)['ent_coef']!r} must be a "
                                      "number (PPO has no 'auto'): set ppo.ent_coef")
        if "popsan_kwargs" in section:
            check(f"{algorithm}.popsan_kwargs", section["popsan_kwargs"], SCHEMA["popsan_kwargs"])
        s = settings(hp, algorithm)
        try:
            memory_guard(f"{source}: {algorithm} with buffer_size={s.get('buffer_size', 0):g} and net_arch="
                         f"{list(s['net_arch'])}", agent_memory(s), "choose a smaller buffer or network")
        except TooLargeError as err:
            raise HyperparameterError(str(err)) from None
    if not isinstance(hp["profiles"], dict) or not hp["profiles"]:
        raise HyperparameterError(f"{source}: profiles must be a mapping of profile names to budgets")
    for name, budget in hp["profiles"].items():
        check(f"profiles.{name}", budget, SCHEMA["profile"], tuple(k for k in SCHEMA["profile"] if k != "algorithms"))
    return hp


def package_yaml(name: str) -> tuple[Any, str]:
    """The parsed package file ``hyperparams/NAME`` and that name (for messages).

    :raises HyperparameterError: the file is missing or not valid YAML.
    """
    source = f"hyperparams/{name}"
    resource = resources.files("greenaolo.aolo").joinpath(source)
    if not resource.is_file():
        raise HyperparameterError(f"{source} is not in the package: run `make tune` to create it")
    return parse_yaml(resource.read_text(), source, HyperparameterError), source


def load_hyperparams(path: str | None = None, *, variant: str = "default", tuned: str | None = None) -> dict[str, Any]:
    """The hyperparameters of every agent, validated: ``variant="default"`` is the hyperparameter file
    (default: the package's ``hyperparams/agents.yaml``); ``"tuned"`` is that file with each algorithm's
    section replaced by its tuned settings from ``tuned`` (default: the package's ``hyperparams/tuned.yaml``,
    written by :func:`greenaolo.aolo.tuning.write_tuned`). Budgets and seeds (``profiles``) always come
    from the hyperparameter file.

    :raises HyperparameterError: a file cannot be read or parsed, or an entry is invalid (file and key named).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is unknown: expected one of {VARIANTS}")
    if path is None:
        hp, source = package_yaml("agents.yaml")
    else:
        source = str(path)
        hp = read_yaml(path, HyperparameterError)
    hp = validate_hyperparams(hp, source)
    if variant == "tuned":
        if tuned is None:
            data, tuned_source = package_yaml("tuned.yaml")
        else:
            data, tuned_source = read_yaml(tuned, HyperparameterError), str(tuned)
        agents = data.get("agents") if isinstance(data, dict) else None
        if not isinstance(agents, dict):
            raise HyperparameterError(f"{tuned_source}: expected a mapping 'agents' of algorithm -> tuned settings")
        for algorithm in ALGORITHMS:
            if not isinstance(agents.get(algorithm), dict) or "hyperparams" not in agents[algorithm]:
                raise HyperparameterError(f"{tuned_source}: no tuned hyperparameters for {algorithm}: run "
                                          f"`greenaolo aolo tune {algorithm}` (or `make tune`)")
            hp[algorithm] = copy.deepcopy(agents[algorithm]["hyperparams"])
        hp = validate_hyperparams(hp, tuned_source)
    return hp


#: The Stable-Baselines3 class of each algorithm: SB3's SAC, TD3 and DDPG with the exact ``gamma = 0``
#: shortcut (:mod:`greenaolo.aolo.sac`, :mod:`greenaolo.aolo.td3`), SB3's PPO.
MODEL_CLASSES: dict[str, type[BaseAlgorithm]] = {"sac": AoloSAC, "sdrl": AoloSAC, "td3": AoloTD3, "ddpg": AoloDDPG,
                                                 "ppo": PPO, "sdrl_td3": AoloTD3, "sdrl_ddpg": AoloDDPG}
#: The policy of each agent with a PopSAN actor (the others: SB3's ``MlpPolicy``).
POPSAN_POLICIES: dict[str, type] = {"sdrl": PopSANPolicy, "sdrl_td3": PopSANTD3Policy, "sdrl_ddpg": PopSANTD3Policy}
#: Whether the algorithm learns from whole rollouts (its training is stopped at the budget's last step).
ON_POLICY = {algorithm: algorithm == "ppo" for algorithm in MODEL_CLASSES}


def check_trainable(algorithm: str, variant: str) -> None:
    """Raise ``ValueError`` unless ``algorithm`` is known and ``variant`` is one of the variants."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} is unknown: expected one of {ALGORITHMS}")
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is unknown: expected one of {VARIANTS}")


def environment_steps(algorithm: str, s: dict[str, Any], updates: int) -> int:
    """The environment steps that give an agent with settings ``s`` its budget of ``updates`` gradient updates
    (``docs/aolo.md#compute-bound``). An off-policy agent collects ``train_freq`` steps, then (once past
    ``learning_starts``) takes ``gradient_steps`` updates: it trains ``ceil(updates / gradient_steps)`` times, so
    it makes ``updates`` rounded up to whole training calls. PPO, on-policy, trains ``updates`` environment steps
    (its minibatch updates are ``n_epochs / batch_size`` per step, fewer than one)."""
    if ON_POLICY[algorithm]:
        return int(updates)
    train_freq, gradient_steps = int(s.get("train_freq", 1)), int(s.get("gradient_steps", 1))
    learning_starts = int(s.get("learning_starts", 100))  # SB3's default
    # SB3 trains after each rollout of train_freq steps that ends past learning_starts.
    return train_freq * (learning_starts // train_freq + math.ceil(int(updates) / gradient_steps))


def budget_clock(algorithm: str) -> Callable[[BaseAlgorithm], int]:
    """How far an agent is through its budget: its gradient updates (PPO: its environment steps)."""
    if ON_POLICY[algorithm]:
        return lambda model: int(model.num_timesteps)
    return lambda model: int(model._n_updates)


def acting_config(cfg: AoloConfig, s: dict[str, Any]) -> AoloConfig:
    """The configuration an agent with settings ``s`` observes and acts in: ``cfg`` with the agent's action
    parameterisation (``useful_kappa_range``, which keeps the optimum: ``docs/aolo.md#useful-range``)."""
    if "useful_kappa_range" not in s or bool(s["useful_kappa_range"]) == cfg.useful_kappa_range:
        return cfg
    return dataclasses.replace(cfg, useful_kappa_range=bool(s["useful_kappa_range"]))


def budgeted_agent(algorithm: str, cfg: AoloConfig, seed: int, hyperparams: dict[str, Any],
                   updates: int) -> tuple[BaseAlgorithm, AoloConfig, int]:
    """A seeded :func:`agent` in its own seeded environment, for a budget of ``updates``: the model, the
    configuration it observes and acts in (:func:`acting_config`) and the environment steps that make the budget
    (:func:`environment_steps`). What a run and a tuning trial both start from."""
    s = settings(hyperparams, algorithm)
    acting = acting_config(cfg, s)
    steps = environment_steps(algorithm, s, updates)
    env = AoloEnv(acting)
    env.reset(seed=seed)
    return agent(algorithm, env, seed, hyperparams, steps=steps), acting, steps


def past_budget(model: BaseAlgorithm, total: int) -> bool:
    """Whether an on-policy agent should stop collecting now: at or past ``total`` steps, unless its rollout
    has just filled (SB3 calls the callback before it learns from a full rollout: stopping there would drop
    that update). Without this, PPO would round ``total`` up to a whole number of rollouts."""
    n = int(getattr(model, "n_steps", 1)) * int(getattr(model, "n_envs", 1) or 1)
    return model.num_timesteps >= total and model.num_timesteps % n != 0


class AnnealedNormalActionNoise(NormalActionNoise):
    """Gaussian exploration noise whose standard deviation falls linearly from ``initial`` to ``final`` over
    its first ``steps`` draws (one draw per environment step with one environment), then stays at ``final``.
    Counting its own draws keeps the schedule the same wherever the agent is trained (a run, a tuning trial)."""

    def __init__(self, n: int, initial: float, final: float, steps: int) -> None:
        super().__init__(np.zeros(n), np.full(n, float(initial)))
        self.initial, self.final, self.steps, self.draws = float(initial), float(final), int(steps), 0

    def __call__(self) -> np.ndarray:
        fraction = min(self.draws / self.steps, 1.0)
        self._sigma = np.full_like(self._sigma, self.initial + fraction * (self.final - self.initial))
        self.draws += 1
        return super().__call__()


#: PopSAN's ``torch.compile`` path costs seconds of compilation per process and pays back over this many
#: environment steps (measured: 3,000 SDRL steps trained in 26 s eager, 29 s compiled): shorter runs (the
#: quick profile's) run the eager fast path, with the same spikes, unless ``popsan_kwargs.compile`` says.
COMPILE_MIN_STEPS = 5000


def agent(algorithm: str, env: AoloEnv, seed: int, hyperparams: dict[str, Any], *,
          steps: int | None = None) -> BaseAlgorithm:
    """A seeded Stable-Baselines3 agent for ``algorithm`` with its :func:`settings` from ``hyperparams``:
    ``"sac"`` (MLP actor) and ``"sdrl"`` (PopSAN actor) are :class:`~greenaolo.aolo.sac.AoloSAC`; ``"td3"``
    and ``"ddpg"`` SB3's with Gaussian action noise of standard deviation ``action_noise_std``, and so are
    ``"sdrl_td3"`` and ``"sdrl_ddpg"`` with a PopSAN actor; ``"ppo"`` SB3's PPO. Every actor and critic is an
    MLP of ``net_arch`` but the PopSAN actors (:data:`POPSAN_POLICIES`). ``steps``, the environment steps it
    will train, turns PopSAN's compiled path off below :data:`COMPILE_MIN_STEPS` where the settings leave
    ``compile`` unset."""
    s = settings(hyperparams, algorithm)
    useful = s.pop("useful_kappa_range", None)
    if useful is not None and bool(useful) != env.config.useful_kappa_range:
        raise ValueError(f"{algorithm}: useful_kappa_range={useful} but the environment's is "
                         f"{env.config.useful_kappa_range}: build it with acting_config(cfg, settings)")
    final_lr = s.pop("learning_rate_final", 1.0)
    if final_lr != 1.0:  # SB3's schedule: progress_remaining falls from 1 to 0 over the run's environment steps
        initial_lr = float(s["learning_rate"])
        s["learning_rate"] = LinearSchedule(initial_lr, initial_lr * final_lr, 1.0)
    policy_kwargs: dict[str, Any] = {"net_arch": list(s.pop("net_arch"))}
    if "optimizer_kwargs" in s:
        policy_kwargs["optimizer_kwargs"] = dict(s.pop("optimizer_kwargs"))
    policy: Any = "MlpPolicy"
    if algorithm in POPSAN_POLICIES:
        policy = POPSAN_POLICIES[algorithm]
        popsan = s.pop("popsan_kwargs", {})
        for key in ("hidden_sizes", "mean_range"):
            if key in popsan:
                popsan[key] = tuple(popsan[key])
        if steps is not None and steps < COMPILE_MIN_STEPS and popsan.get("compile") is None:
            popsan["compile"] = False
        policy_kwargs.update(popsan_kwargs=popsan, snn_lr_scale=s.pop("snn_lr_scale", 0.1))
    if issubclass(MODEL_CLASSES[algorithm], TD3):  # TD3, DDPG and their PopSAN versions
        std = s.pop("action_noise_std", 0.1)
        final, decay = s.pop("action_noise_final", None), s.pop("action_noise_decay_steps", None)
        if final is None and decay is not None:
            raise HyperparameterError(f"{algorithm}: action_noise_decay_steps={decay} needs action_noise_final "
                                      "(the noise's last standard deviation)")
        if final is not None and decay is None:  # over the whole run
            if steps is None:
                raise HyperparameterError(f"{algorithm}: action_noise_final without action_noise_decay_steps decays "
                                          "over the run: pass its environment steps (steps=)")
            decay = max(int(steps), 1)  # one draw per environment step, the warm-up's too
        n = env.action_space.shape[0]
        if final is not None:
            s["action_noise"] = AnnealedNormalActionNoise(n, std, final, decay)
        else:
            s["action_noise"] = NormalActionNoise(np.zeros(n), np.full(n, std)) if std > 0 else None
    if algorithm == "ppo" and "log_std_init" in s:
        policy_kwargs["log_std_init"] = s.pop("log_std_init")
    return MODEL_CLASSES[algorithm](policy, env, seed=seed, policy_kwargs=policy_kwargs, device="cpu", verbose=0, **s)


def evaluate_model(model: BaseAlgorithm, cfg: AoloConfig, requests: dict, *, method: str) -> xr.Dataset:
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


class EvaluationCallback(BaseCallback):
    """The one evaluation callback of training and tuning (rl-baselines3-zoo's ``TrialEvalCallback`` shape):
    every ``every`` units of ``algorithm``'s budget (:func:`budget_clock`: gradient updates, PPO's environment
    steps) it scores the deterministic policy on fixed ``requests`` (:func:`evaluate_model`) and hands the
    outcome to ``on_evaluation(mark, outcome)``, with ``mark`` the multiple of ``every`` reached, which returns
    whether training goes on (tuning's pruner says stop there). An on-policy agent ends at ``total`` steps (it
    would otherwise finish its rollout: PPO rounds up to ``n_steps``).

    An off-policy agent's updates come ``gradient_steps`` at a time after each rollout: a mark is evaluated at
    the first environment step after the update that reached it, and the last one (``total``) after training.

    :param at_start: evaluate once before the first step too (a learning curve's first point).
    :param at_total: evaluate at ``total`` too (tuning scores the final model itself, after training).
    :param progress: a tqdm description to drive a progress bar with, or ``None`` for none.
    """

    def __init__(self, cfg: AoloConfig, requests: dict, every: int, total: int,
                 on_evaluation: Callable[[int, xr.Dataset], bool], *, algorithm: str, at_start: bool = False,
                 at_total: bool = True, progress: str | None = None):
        super().__init__()
        self.cfg, self.requests, self.every, self.total = cfg, requests, every, total
        self.on_evaluation, self.at_start, self.at_total = on_evaluation, at_start, at_total
        self.clock, self.stop = budget_clock(algorithm), ON_POLICY[algorithm]
        self.next_mark = every
        self.stopped = False  # on_evaluation said stop
        self.bar = tqdm(total=total, desc=progress or "", unit="update", disable=progress is None)

    def evaluate(self, mark: int) -> bool:
        """Evaluate now, as the budget's ``mark``, and pass it on; whether training goes on."""
        outcome = evaluate_model(self.model, self.cfg, self.requests, method="eval")
        go_on = bool(self.on_evaluation(mark, outcome))
        self.stopped = self.stopped or not go_on
        return go_on

    def _on_training_start(self) -> None:
        if self.at_start:
            self.evaluate(0)

    def _on_step(self) -> bool:
        done = self.clock(self.model)
        self.bar.update(min(done, self.total) - self.bar.n)
        while done >= self.next_mark and (self.at_total or self.next_mark < self.total):
            mark, self.next_mark = self.next_mark, self.next_mark + self.every
            if not self.evaluate(mark):
                return False
        return not (self.stop and past_budget(self.model, self.total))

    def _on_training_end(self) -> None:
        self.bar.update(min(self.clock(self.model), self.total) - self.bar.n)
        self.bar.close()


def curve_row(step: int, outcome: xr.Dataset) -> dict[str, float]:
    """One point of a learning curve (:data:`CURVE`) from an evaluation's outcome."""
    return {"step": step, "reward": float(outcome.mean_reward), "carbon_g": float(outcome.carbon_g),
            "qoe_violation_rate": float(outcome.qoe_violation_rate),
            "latency_violation_rate": float(outcome.latency_violation_rate)}


#: What a learning curve's ``step`` counts: the budget (:func:`budget_clock`).
STEP_NAME = "training budget spent (gradient updates; PPO: environment steps)"

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
    variant: str = "default",
    updates: int | None = None,
    progress: bool = True,
    return_model: bool = False,
) -> xr.Dataset | tuple[xr.Dataset, BaseAlgorithm]:
    """Train one agent and return its learning curve (``curve_*`` on ``step``) and final evaluation
    (per ``request``, with ``carbon_g``, violation rates and ``gap_to_oracle``), exact settings in attrs.

    :param algorithm: one of :data:`~greenaolo.options.ALGORITHMS`.
    :param seed: seeds the agent, the environment and its requests (the evaluation set is fixed).
    :param profile: which ``profiles`` entry of the hyperparameter file sets the budget.
    :param hyperparams: every agent's hyperparameters (default: :func:`load_hyperparams` of ``variant``).
    :param variant: ``"default"`` or ``"tuned"``: which hyperparameters, recorded in the attributes.
    :param updates: overrides the profile's budget (``gradient_updates``; PPO: environment steps). The agent
        trains :func:`environment_steps` for it; its curve is evaluated every ``eval_every`` of it.
    :param return_model: also return the trained model (``(dataset, model)``).
    """
    cfg = config or AoloConfig()
    check_trainable(algorithm, variant)
    hp = validate_hyperparams(hyperparams) if hyperparams is not None else load_hyperparams(variant=variant)
    if profile not in hp["profiles"]:
        raise ValueError(f"profile={profile!r} is unknown: expected one of {sorted(hp['profiles'])}")
    budget = dict(hp["profiles"][profile])
    updates = budget["gradient_updates"] if updates is None else updates
    updates = number("", "updates", updates, 1, 2**40, integer=True)
    requests = evaluation_requests(cfg, int(budget["n_eval"]))
    model, acting, steps = budgeted_agent(algorithm, cfg, seed, hp, updates)
    rows: list[dict[str, float]] = []
    callback = EvaluationCallback(acting, requests, int(budget["eval_every"]), updates,
                                  lambda mark, outcome: rows.append(curve_row(mark, outcome)) or True,
                                  algorithm=algorithm, at_start=True,
                                  progress=f"{algorithm} seed {seed}" if progress else None)
    started = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    seconds = time.perf_counter() - started
    # SB3 trains after the callback has seen a step (PPO's last rollout, an off-policy agent's last updates):
    # the budget's last point is evaluated on the final model.
    if rows[-1]["step"] >= updates:
        rows.pop()
    callback.evaluate(updates)
    final = evaluate_model(model, acting, requests, method=algorithm)
    best = evaluate_oracle(requests, cfg)
    final["oracle_carbon_g"] = xr.DataArray(float(best.carbon_g), attrs={"units": "g", "long_name": "oracle mean carbon (CO2e)"})
    final["gap_to_oracle"] = xr.DataArray(gap_to_oracle(final.carbon_g, best.carbon_g),
                                          attrs={"units": "1", "long_name": "relative carbon gap to the oracle"})
    steps_axis = [row["step"] for row in rows]
    for name, (units, long_name) in CURVE.items():
        final[f"curve_{name}"] = xr.DataArray([row[name] for row in rows], dims="step",
                                              attrs={"units": units, "long_name": long_name})
    final = final.assign_coords(step=("step", steps_axis, {"units": "1", "long_name": STEP_NAME}))
    final.attrs.update(
        algorithm=algorithm, variant=variant, seed=int(seed), config=cfg.to_json(), hyperparams=json.dumps(hp, sort_keys=True),
        gradient_updates=updates, environment_steps=int(model.num_timesteps), train_seconds=seconds,
        steps_per_second=model.num_timesteps / seconds, profile=profile,
    )
    return (final, model) if return_model else final
