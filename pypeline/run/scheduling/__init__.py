"""Run: scheduling."""
