"""The choices a user picks from, each defined once: profiles, solvers, AOLO's agents and evaluation set.

The library's modules and the command line import them from here (a module cheap to import, so that
``greenaolo --help`` does not load the solvers or the numerical stack).
"""

from __future__ import annotations

__all__ = ["ALGORITHMS", "EVALUATION_SEED", "MAX_REQUESTS", "PROFILES", "SOLVERS"]

#: ``quick`` runs the same code as ``full`` on smaller inputs.
PROFILES = ("quick", "full")
#: ``auto``: Gurobi where its licence allows the model, else HiGHS (:mod:`greenaolo.solvers`).
SOLVERS = ("auto", "highs", "gurobi")
#: The AOLO agents: SAC with an MLP actor, and SDRL (SAC with a PopSAN spiking actor).
ALGORITHMS = ("sac", "sdrl")
#: Seed of the fixed set of AOLO evaluation requests every method is measured on.
EVALUATION_SEED = 20250306
#: The most AOLO evaluation requests one evaluation draws (about 7.5 kB each, with the per-request outcome).
MAX_REQUESTS = 1_000_000
