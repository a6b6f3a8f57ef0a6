"""Build layer: load a flow YAML, plan it, write the job folder."""
