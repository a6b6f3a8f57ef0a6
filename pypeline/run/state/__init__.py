"""The mutable records of one run: sub flow instances, nodes, list outputs, errors."""
