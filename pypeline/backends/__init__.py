"""Backends: where a module attempt runs (docs/executors.md).

A module's ``execution: {backend: ...}`` block names its backend: ``local``
(in the run's process, the default), ``dask``, ``lambda``, ``glue``,
``container`` (also spelled ``docker``), or a plugin's (entry-point group
``pypeline.backends``, see :mod:`.registry`). The run opens one
:class:`~pypeline.backends.base.Backend` per backend its job uses and submits
each attempt to it as a :class:`~pypeline.backends.base.ModuleTask`. Module
code never knows which one runs it.

Files:

* :mod:`.base` the ABC, :mod:`.registry` names -> classes and option checks,
  :mod:`.local` the local backend and the one module life cycle every far side
  reuses;
* :mod:`.dask_backend` with its worker side :mod:`.dask_worker` and the
  scheduler probe :mod:`.dask_probe`;
* the remote boundary the AWS and container backends share, ``remote_*``: a
  local half (:mod:`.remote_client`, :class:`RemoteBackend`) writes every input
  frame under a staging location (S3, :mod:`.remote_staging`, or a mounted
  folder, :mod:`.remote_folder_stage`) and sends a versioned JSON payload
  (:mod:`.remote_payload`, secrets as references: :mod:`.remote_secrets`); the
  far side (:mod:`.remote_far_side`, called by the entry points PYpeline ships)
  resolves secrets there, runs the module and answers with output locations,
  globals, stats, log lines or a structured error;
* :mod:`.lambda_backend` with the shipped handler :mod:`.aws_lambda` and
  :mod:`.packaging` (``pype package lambda``); :mod:`.glue_backend` with the
  shipped job script :mod:`.glue_entry`;
* :mod:`.container_backend` with its command lines (:mod:`.container_engine`),
  output streams (:mod:`.container_output`), the shipped entry point
  :mod:`.container_entry` and :mod:`.container_image` (``pype package container``).
"""
