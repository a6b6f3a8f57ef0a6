"""Built-in solo modules."""
