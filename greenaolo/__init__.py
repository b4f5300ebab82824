"""greenaolo: reproducible re-implementations of Green-LLM (arXiv 2507.09942) and AOLO (arXiv 2503.04418).

Importing the package registers AOLO's Gymnasium environment, so ``gymnasium.make("greenaolo/Aolo-v0")``
works after ``import greenaolo`` (and Gymnasium's ``"greenaolo:greenaolo/Aolo-v0"`` shorthand works alone).

The public API: the two papers' subpackages :mod:`greenaolo.greenllm` and :mod:`greenaolo.aolo` (each lists
its own), and the shared :func:`draw` (any figure from its dataset), :func:`read_dataset` and
:func:`write_dataset` (netCDF with provenance), :func:`run_notebook` (papermill with checked parameters),
:class:`Explorer` (sliders over a view, thread-safe) and :func:`output_dir` (where outputs live).
"""

from importlib.metadata import PackageNotFoundError, version

from greenaolo._public import lazy_attributes
from greenaolo import greenllm  # noqa: F401 - cheap: its names load on first use
from greenaolo.aolo import register_environments

try:
    __version__ = version("greenaolo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

register_environments()

_PUBLIC = {
    "draw": "greenaolo.figures", "read_dataset": "greenaolo.io", "write_dataset": "greenaolo.io",
    "run_notebook": "greenaolo.notebooks", "Explorer": "greenaolo.explorer", "output_dir": "greenaolo.paths",
}
__all__ = sorted([*_PUBLIC, "__version__", "aolo", "greenllm"])


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _PUBLIC)
