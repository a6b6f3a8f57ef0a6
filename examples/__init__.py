"""The repository's examples (a package, so examples/python_api's modules import by path)."""
