"""Keeping a run's promises when its own event loop cannot: the watchdog process, signals, abandoned threads."""
