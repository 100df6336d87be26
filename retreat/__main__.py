"""`python -m retreat` runs the command line."""

from retreat.cli import main

main()
