"""Executors: where a module runs (docs/executors.md).

The run opens one executor per backend its job uses (``local``, ``dask``,
``lambda``, ``glue``, ``container``/``docker``, or a plugin's, see :mod:`.backends`) and hands the
scheduler a ``backend name -> Executor`` mapping; for each module attempt the
node runner submits a :class:`~pypeline.executors.base.ModuleTask` to the
executor of the module's ``execution.backend``. Module code never knows which
one runs it.

Files: :mod:`.base` (the ABC), :mod:`.local`, :mod:`.dask_executor` with its
worker side :mod:`.dask_worker`, :mod:`.lambda_executor` with the shipped
handler :mod:`.aws_lambda`, :mod:`.glue_executor` with the shipped job script
:mod:`.glue_entry`, :mod:`.container_executor` with its command lines
(:mod:`.container_engine`), output streams (:mod:`.container_output`) and
the shipped entry point :mod:`.container_entry`, :mod:`.remote` (the
payload/result boundary the AWS and container backends share, through S3
or a mounted folder), :mod:`.packaging` (``pype package lambda``) and
:mod:`.container_image` (``pype package container``).
"""
