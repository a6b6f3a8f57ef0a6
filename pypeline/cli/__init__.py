"""The ``pype`` command line."""
