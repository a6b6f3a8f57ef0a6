"""Core layer: errors, canonical JSON, safe expressions and small utilities.

Nothing in here imports any other part of PYpeline.
"""
