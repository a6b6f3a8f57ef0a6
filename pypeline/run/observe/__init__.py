"""Run: observe."""
