"""Green-LLM (Cheng & Nguyen, arXiv 2507.09942): scenarios, the allocation model and its results.

The public API (what a user imports; the rest of the subpackage is for the package's own notebooks):

- scenarios: :func:`paper_scenario` (the authors' seed-42 instance, or any 2024 day's carbon intensity),
  :func:`synthetic_scenario` (larger instances), :class:`Scaling` and :func:`apply_scaling` (the Psi factors),
  :func:`load_csv_scenario` (your own traces);
- the model: :func:`build_model`, :func:`solve` (M0-M3 or weights, limits, the MILP :class:`Extensions`),
  :func:`solve_lexicographic`, :data:`MODELS`;
- studies: :func:`explore_view` (one setting re-solved in a tenth of a second), :func:`year_study` (every day
  of 2024).
"""

from greenaolo._public import lazy_attributes

_PUBLIC = {
    "paper_scenario": "greenaolo.greenllm.scenario", "synthetic_scenario": "greenaolo.greenllm.scenario",
    "Scaling": "greenaolo.greenllm.scenario", "apply_scaling": "greenaolo.greenllm.scenario",
    "load_csv_scenario": "greenaolo.greenllm.traces",
    "build_model": "greenaolo.greenllm.model", "solve": "greenaolo.greenllm.optimise",
    "solve_lexicographic": "greenaolo.greenllm.optimise", "Extensions": "greenaolo.greenllm.model",
    "MODELS": "greenaolo.greenllm.model",
    "explore_view": "greenaolo.greenllm.explore", "year_study": "greenaolo.greenllm.year",
}
__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _PUBLIC)
