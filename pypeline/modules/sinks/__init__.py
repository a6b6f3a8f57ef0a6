"""Built-in sinks modules."""
