"""Run ocx as `python -m ocx`."""

from ocx.cli import main

main()
