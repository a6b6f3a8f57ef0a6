"""The job model shared by the build and the run.

``pype build`` makes a :class:`~pypeline.job.plan.JobPlan` from a flow YAML
and writes it as a job folder (:mod:`pypeline.job.folder`); ``pype run`` and
``pype graph`` read it back. Neither side imports the other: this package is
what they share, with the one ordering policy both follow
(:mod:`pypeline.job.order`).
"""
