"""`python -m retreat.cli` runs the command line."""

from retreat.cli import main

main()
