"""Demo plugin for PYpeline's tests."""
