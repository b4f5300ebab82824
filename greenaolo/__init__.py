"""greenaolo: reproducible re-implementations of Green-LLM (arXiv 2507.09942) and AOLO (arXiv 2503.04418)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("greenaolo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
