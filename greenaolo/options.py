"""The choices a user picks from, each defined once: profiles, solvers, AOLO's agents and evaluation set.

The library's modules and the command line import them from here (a module cheap to import, so that
``greenaolo --help`` does not load the solvers or the numerical stack).
"""

from __future__ import annotations

__all__ = ["ALGORITHMS", "EVALUATION_SEED", "MAX_REQUESTS", "PAPER_ALGORITHMS", "PROFILES", "SOLVERS", "SPIKING_TWINS",
           "VALIDATION_SEED", "VARIANTS"]

#: ``quick`` runs the same code as ``full`` on smaller inputs.
PROFILES = ("quick", "full")
#: ``auto``: Gurobi where its licence allows the model, else HiGHS (:mod:`greenaolo.solvers`).
SOLVERS = ("auto", "highs", "gurobi")
#: The AOLO agents that are tuned and reproduced: SAC with an MLP actor, SDRL (SAC with a PopSAN spiking actor),
#: the baselines TD3, DDPG and PPO (MLP actors), and TD3 and DDPG with PopSAN's deterministic spiking actor.
ALGORITHMS = ("sac", "sdrl", "td3", "ddpg", "ppo", "sdrl_td3", "sdrl_ddpg")
#: The two agents the AOLO paper compares.
PAPER_ALGORITHMS = ("sac", "sdrl")
#: Each agent with a spiking (PopSAN) actor and its twin with a plain MLP actor: the same algorithm and settings
#: space, only the actor differs (the comparison behind the paper's claim, made for every algorithm with one).
SPIKING_TWINS = {"sdrl": "sac", "sdrl_td3": "td3", "sdrl_ddpg": "ddpg"}
#: Hyperparameters: the shared, untuned ``default`` (``hyperparams/agents.yaml``) or ``tuned`` by Optuna
#: (``hyperparams/tuned.yaml``).
VARIANTS = ("default", "tuned")
#: Seed of the fixed set of AOLO evaluation requests every method is measured on.
EVALUATION_SEED = 20250306
#: Seed of the AOLO validation requests hyperparameter tuning scores trials on (apart from the evaluation set).
VALIDATION_SEED = 20250307
#: The most AOLO evaluation requests one evaluation draws (about 7.5 kB each, with the per-request outcome).
MAX_REQUESTS = 1_000_000
