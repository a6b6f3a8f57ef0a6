"""Checkpoints after every finished sub flow instance, and resuming a failed run from them."""
