"""`python -m api.cli`: the same as the `djmap` console script."""

from api.cli import main

main()
