"""Site model, errors, paths and identity shared by every dcops area."""

__version__ = "0.1.0"
