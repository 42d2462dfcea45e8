"""`python -m trackflow ...` runs the CLI."""

from trackflow.cli.main import main

main()
