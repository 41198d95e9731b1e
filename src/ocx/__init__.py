"""ocx: treat every customer as your only customer."""

__version__ = "0.1.0"
