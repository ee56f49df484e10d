"""EventGuard: market-supervision service guarantee for major events."""

__version__ = "0.1.0"
