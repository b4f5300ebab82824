"""Measured inputs shipped with the package (read by :mod:`greenaolo.measured`); sources and licences in README.md."""
