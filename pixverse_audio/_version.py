"""The package version: the single source (hatchling reads it for the distribution's metadata)."""

__version__ = "0.1.0.dev0"
