"""The run engine: opens a run's resources, runs its scheduler, records the outcome."""
