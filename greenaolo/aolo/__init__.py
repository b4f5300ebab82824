"""AOLO (Wang, Du, Gao & Kim, arXiv 2503.04418): the carbon model of a wireless LLM service, its Gymnasium
environment ``greenaolo/Aolo-v0``, the exact per-request oracle, heuristics, and the agents.

The public API (what a user imports; the rest of the subpackage is for the package's own notebooks):

- the model: :class:`AoloConfig` (every parameter with its unit and source), :func:`evaluation_requests`
  (the fixed evaluation set); eq. (16)'s four terms are :func:`greenaolo.aolo.carbon.carbon`;
- the environment :class:`AoloEnv` (``gymnasium.make("greenaolo/Aolo-v0")``), the exact :func:`oracle`,
  :func:`evaluate` (scoring any actions);
- the agents: :func:`agent` (SAC, SDRL, TD3, DDPG or PPO with the package's settings), :func:`train`,
  :class:`PopSANPolicy` (the spiking actor, ``SAC(PopSANPolicy, env)``), :func:`tune` (Optuna studies).
"""

import gymnasium

from greenaolo._public import lazy_attributes

ENV_ID = "greenaolo/Aolo-v0"
_PUBLIC = {
    "AoloConfig": "greenaolo.aolo.config",
    "evaluation_requests": "greenaolo.aolo.requests", "AoloEnv": "greenaolo.aolo.env",
    "oracle": "greenaolo.aolo.oracle", "evaluate": "greenaolo.aolo.evaluation",
    "agent": "greenaolo.aolo.training", "train": "greenaolo.aolo.training",
    "PopSANPolicy": "greenaolo.aolo.popsan", "tune": "greenaolo.aolo.tuning",
}
__all__ = sorted([*_PUBLIC, "ENV_ID", "register_environments"])


def register_environments() -> None:
    """Register ``greenaolo/Aolo-v0`` with Gymnasium (once; ``import greenaolo`` calls it)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="greenaolo.aolo.env:AoloEnv")


register_environments()


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _PUBLIC)
