"""AOLO (Wang, Du, Gao & Kim, arXiv 2503.04418): the carbon model of a wireless LLM service, its Gymnasium
environment ``greenaolo/Aolo-v0``, the exact per-request oracle, heuristics, and the SAC and SDRL agents."""

import gymnasium

ENV_ID = "greenaolo/Aolo-v0"


def register_environments() -> None:
    """Register ``greenaolo/Aolo-v0`` with Gymnasium (once; ``import greenaolo`` calls it)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="greenaolo.aolo.env:AoloEnv")


register_environments()
