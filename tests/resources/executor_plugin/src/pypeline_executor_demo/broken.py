"""A backend whose import fails (a missing dependency)."""

import pypeline_missing_dependency  # noqa: F401
