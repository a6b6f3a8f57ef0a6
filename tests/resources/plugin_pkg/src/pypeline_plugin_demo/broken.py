"""A plugin module that fails to import: PYpeline must skip it with a warning."""

raise ImportError("this demo plugin module is broken on purpose")
