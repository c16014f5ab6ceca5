"""townlet: train agents that live in a small simulated town."""

__version__ = "0.1.0"
