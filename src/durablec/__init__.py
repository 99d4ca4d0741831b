"""durablec: durable execution for ordinary async Python."""

__version__ = "0.1.0"
