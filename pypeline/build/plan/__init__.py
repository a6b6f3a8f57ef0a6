"""Plan phase: connections, categories, sub flows, valves, cycles, waves."""
