"""Run: execution."""
