"""Built-in source modules."""
