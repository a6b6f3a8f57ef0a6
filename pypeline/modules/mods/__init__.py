"""Built-in mods modules."""
