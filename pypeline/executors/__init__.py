"""Executors: where a module runs (DESIGN.md §8).

The scheduler is handed an :class:`~pypeline.executors.base.ExecutorSet`
and, for each module attempt, submits a
:class:`~pypeline.executors.base.ModuleTask` to the executor of the module's
``execution.backend``. Module code never knows which one runs it.
"""
