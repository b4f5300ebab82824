"""AOLO (Wang, Du, Gao & Kim, arXiv 2503.04418): the carbon model of a wireless LLM service, its Gymnasium
environment ``greenaolo/Aolo-v0`` and the exact per-request oracle."""

import gymnasium

if "greenaolo/Aolo-v0" not in gymnasium.registry:
    gymnasium.register(id="greenaolo/Aolo-v0", entry_point="greenaolo.aolo.env:AoloEnv")
