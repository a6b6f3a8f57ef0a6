"""Helpers the built-in modules share (column checks, row expressions, SQL, stats)."""
