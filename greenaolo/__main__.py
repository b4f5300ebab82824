"""``python -m greenaolo``: the ``greenaolo`` command line (:mod:`greenaolo.cli`)."""

from greenaolo.cli import main

main()
