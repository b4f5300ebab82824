"""The AOLO agents' search spaces: one sampler function per algorithm, as rl-baselines3-zoo writes them
(``rl_zoo3/hyperparams_opt.py``).

A sampler asks an Optuna trial for the settings it tunes and returns them as overrides of the agent's
``agents.yaml`` settings (PopSAN's own under ``popsan_kwargs``). Everything not named keeps its default;
``gamma`` is never tuned (AOLO's requests are independent: gamma = 0). The compute budget and bound are the
same for every agent (``docs/aolo.md#compute-bound``): a trial makes the budget's gradient updates whatever
its updates per environment step (more per step means fewer steps), batches of at most 256, networks of at
most 256 x 256, PopSAN at most T = 5 timesteps. Every agent may anneal its learning rate and choose the useful
answer range (``docs/aolo.md#useful-range``: the optimum is unchanged); TD3 and DDPG may anneal their noise.

The parameter names, their distributions and the order they are asked in are those the committed studies
(``hyperparams/studies``) were run with, so those studies resume and a seeded sampler draws the same trials.
A study records its space as the distributions the sampler asks for (:func:`space_of`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["NETWORKS", "SAMPLERS", "sample", "space_of"]

#: The network sizes a trial may choose (actor and critics; PopSAN's hidden layers choose their own).
NETWORKS = {"small": [64, 64], "medium": [256, 256]}


def _off_policy(trial: Any) -> dict[str, Any]:
    """What every off-policy agent (SAC, SDRL, TD3, DDPG) tunes: rl-baselines3-zoo's, narrowed to AOLO."""
    s = {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 3e-3, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "tau": trial.suggest_categorical("tau", [0.001, 0.005, 0.01, 0.02, 0.05]),
        "train_freq": trial.suggest_categorical("train_freq", [1, 2, 4, 8]),
    }
    # Gradient updates per environment step: the budget is updates, so more per step means fewer steps (the
    # environment is a one-step bandit, gamma = 0: repeated updates on the same data bootstrap nothing).
    ratio = trial.suggest_categorical("updates_per_step", [0.25, 0.5, 1, 2, 4])
    s["gradient_steps"] = max(1, int(round(s["train_freq"] * ratio)))
    s["learning_starts"] = trial.suggest_categorical("learning_starts", [100, 1000, 2000])
    return {**s, **_shared(trial)}


def _shared(trial: Any) -> dict[str, Any]:
    """What every agent tunes beyond its algorithm: a linearly annealed learning rate (its final fraction) and
    the action's answer range (the whole range or the useful one: ``docs/aolo.md#useful-range``)."""
    return {"learning_rate_final": trial.suggest_categorical("learning_rate_final", [1.0, 0.3, 0.1]),
            "useful_kappa_range": trial.suggest_categorical("useful_kappa_range", [False, True])}


def _noise(trial: Any) -> dict[str, Any]:
    """TD3's and DDPG's Gaussian exploration noise: its standard deviation and the fraction of it left at the end
    of the run (linear decay over the whole run; 1: constant)."""
    std = trial.suggest_float("action_noise_std", 0.02, 0.5, log=True)
    fraction = trial.suggest_categorical("action_noise_final", [1.0, 0.3, 0.1, 0.0])
    return {"action_noise_std": std, **({"action_noise_final": std * fraction} if fraction != 1.0 else {})}


def _entropy(trial: Any) -> dict[str, Any]:
    """SAC's entropy: a fixed coefficient or 'auto' towards a target entropy."""
    return {"ent_coef": trial.suggest_categorical("ent_coef", ["auto", 0.0001, 0.001, 0.01]),
            "target_entropy": trial.suggest_float("target_entropy", -4.0, 0.0)}


def _network(trial: Any) -> dict[str, Any]:
    return {"net_arch": list(NETWORKS[trial.suggest_categorical("net_arch", list(NETWORKS))])}


def sample_sac(trial: Any) -> dict[str, Any]:
    """SAC: the off-policy settings, its entropy and the network."""
    return {**_off_policy(trial), **_entropy(trial), **_network(trial)}


def sample_sdrl(trial: Any) -> dict[str, Any]:
    """SDRL: SAC's space, the same ranges, plus what PopSAN's own code exposes that shapes learning: the
    spiking actor's learning-rate scale, its timesteps, its encoder population and its width. Kept fixed
    (``agents.yaml``): the encoder's mean range and std (set against the observations' range) and the decoder
    population (10, as in PopSAN)."""
    return {**sample_sac(trial), **_popsan(trial)}


def _popsan(trial: Any) -> dict[str, Any]:
    """What a PopSAN actor adds to its plain twin's space (SDRL, spiking TD3 and DDPG alike)."""
    return {
        "snn_lr_scale": trial.suggest_float("snn_lr_scale", 0.03, 1.0, log=True),
        "popsan_kwargs": {
            "spike_ts": trial.suggest_categorical("popsan_kwargs.spike_ts", [3, 5]),
            "encoder_pop_dim": trial.suggest_categorical("popsan_kwargs.encoder_pop_dim", [5, 10, 20]),
            "hidden_sizes": list(NETWORKS[trial.suggest_categorical("popsan_kwargs.hidden_sizes", list(NETWORKS))]),
        },
    }


def sample_td3(trial: Any) -> dict[str, Any]:
    """TD3: the off-policy settings, the network, its Gaussian exploration noise, policy delay and target
    smoothing."""
    return {**_off_policy(trial), **_network(trial), **_noise(trial),
            "policy_delay": trial.suggest_categorical("policy_delay", [1, 2, 4]),
            "target_policy_noise": trial.suggest_categorical("target_policy_noise", [0.05, 0.1, 0.2, 0.3])}


def sample_ddpg(trial: Any) -> dict[str, Any]:
    """DDPG: the off-policy settings, the network and its Gaussian exploration noise."""
    return {**_off_policy(trial), **_network(trial), **_noise(trial)}


def sample_sdrl_td3(trial: Any) -> dict[str, Any]:
    """TD3 with PopSAN's deterministic actor: TD3's space, the same ranges, plus the PopSAN options SDRL tunes."""
    return {**sample_td3(trial), **_popsan(trial)}


def sample_sdrl_ddpg(trial: Any) -> dict[str, Any]:
    """DDPG with PopSAN's deterministic actor: DDPG's space plus the PopSAN options SDRL tunes."""
    return {**sample_ddpg(trial), **_popsan(trial)}


def sample_ppo(trial: Any) -> dict[str, Any]:
    """PPO: rollout length, batch, epochs, clipping, entropy coefficient, initial log-std and the network."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 3e-3, log=True),
        "n_steps": trial.suggest_categorical("n_steps", [128, 256, 512, 1024, 2048]),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
        "n_epochs": trial.suggest_categorical("n_epochs", [3, 5, 10, 20]),
        "clip_range": trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3, 0.4]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.01, log=True),
        "log_std_init": trial.suggest_float("log_std_init", -3.0, 0.0),
        **_network(trial),
        **_shared(trial),
    }


#: Each algorithm's sampler.
SAMPLERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "sac": sample_sac, "sdrl": sample_sdrl, "td3": sample_td3, "ddpg": sample_ddpg, "ppo": sample_ppo,
    "sdrl_td3": sample_sdrl_td3, "sdrl_ddpg": sample_sdrl_ddpg,
}


def sample(trial: Any, algorithm: str) -> dict[str, Any]:
    """The settings ``trial`` draws for ``algorithm`` (an Optuna trial, or ``optuna.trial.FixedTrial``)."""
    if algorithm not in SAMPLERS:
        raise ValueError(f"algorithm={algorithm!r} has no sampler: expected one of {tuple(SAMPLERS)}")
    return SAMPLERS[algorithm](trial)


def space_of(algorithm: str) -> dict[str, str]:
    """The space a study records: each parameter the sampler asks for, with its Optuna distribution (JSON)."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "a new study created" line per call
    try:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    finally:
        optuna.logging.set_verbosity(level)
    trial = study.ask()
    sample(trial, algorithm)
    return {name: optuna.distributions.distribution_to_json(d) for name, d in sorted(trial.distributions.items())}


def legacy_space(space: dict[str, dict[str, Any]]) -> dict[str, str]:
    """A space in the YAML form the studies of December 2026 recorded (``{low, high[, log]}``, ``{choices}``,
    ``{fraction_of, choices}``), as :func:`space_of` records it: so those studies resume."""
    import optuna

    out = {}
    for key, spec in space.items():
        if "choices" in spec:
            choices = list(spec["choices"]) if isinstance(spec["choices"], dict) else spec["choices"]
            dist: Any = optuna.distributions.CategoricalDistribution(choices)
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            dist = optuna.distributions.IntDistribution(spec["low"], spec["high"], log=bool(spec.get("log")))
        else:
            dist = optuna.distributions.FloatDistribution(float(spec["low"]), float(spec["high"]),
                                                          log=bool(spec.get("log")))
        out[key] = optuna.distributions.distribution_to_json(dist)
    return dict(sorted(out.items()))


def same_space(recorded: str, algorithm: str) -> bool:
    """Whether a study's recorded space (today's form or the legacy YAML form) is ``algorithm``'s sampler's."""
    try:
        stored = json.loads(recorded)
    except ValueError:
        return False
    if stored and all(isinstance(v, dict) for v in stored.values()):
        # The legacy record sorted a named choice's keys when it was written: compare choices as sets there.
        return _unordered(legacy_space(stored)) == _unordered(space_of(algorithm))
    return stored == space_of(algorithm)


def _unordered(space: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, text in space.items():
        dist = json.loads(text)
        if dist["name"] == "CategoricalDistribution":
            dist["attributes"]["choices"] = sorted(dist["attributes"]["choices"], key=repr)
        out[name] = json.dumps(dist, sort_keys=True)
    return out
