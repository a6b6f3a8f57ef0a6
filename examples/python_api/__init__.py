"""Flows written in Python (docs/python-api.md); run each from the repository root with ``python -m``."""
