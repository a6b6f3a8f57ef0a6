"""Run layer: execute a job folder (scheduler, sub flows, templating, artifacts, observability)."""
