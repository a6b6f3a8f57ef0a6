"""Configs every built-in file sink offers the same way."""

from __future__ import annotations

from typing import Any

REPLACE_OUTPUT_OF_CONFIG: dict[str, Any] = {
    "replace_output_of": {
        "type": "list[str]",
        "default": [],
        "description": "Other jobs whose output folder (with its _PYPELINE marker) this sink may replace; "
        "`*`: any job (docs/security.md)",
    },
}
"""Merged into a file sink's ``CONFIG_SCHEMA['optional']``; the sink passes it to ``atomic_output_path``."""
