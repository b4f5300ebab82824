"""greenaolo: reproducible re-implementations of Green-LLM (arXiv 2507.09942) and AOLO (arXiv 2503.04418).

Importing the package registers AOLO's Gymnasium environment, so ``gymnasium.make("greenaolo/Aolo-v0")``
works after ``import greenaolo`` (and Gymnasium's ``"greenaolo:greenaolo/Aolo-v0"`` shorthand works alone).
"""

from importlib.metadata import PackageNotFoundError, version

from greenaolo.aolo import register_environments

try:
    __version__ = version("greenaolo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

register_environments()
