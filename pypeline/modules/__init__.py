"""Modules layer: the module SDK, the registry and the built-in modules."""
