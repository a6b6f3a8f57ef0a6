"""Load phase: YAML syntax, JSON Schema, module resolution, configs."""
