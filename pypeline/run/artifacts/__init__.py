"""Run: artifacts."""
