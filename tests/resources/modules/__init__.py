"""Module classes used by tests (importable as ``tests.resources.modules.<file>``)."""
