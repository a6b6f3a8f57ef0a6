"""The serialization boundary shared by remote backends (Lambda, Glue).

A remote attempt crosses the boundary twice. Going out, the local side writes
every input frame as Parquet under the run's staging prefix in S3 and sends a
versioned JSON *payload* (:mod:`.payload`) naming the module, its configs with
secret templates left unresolved, the S3 URIs of its inputs, the run and node
ids, the iteration and the globals the module may read. On the far side an
entry point PYpeline ships (the Lambda handler, the Glue script) hands the
payload to :func:`.far_side.execute_payload`, which resolves secrets there,
runs the module with the same life cycle as the local executor, writes output
frames back to S3 and answers with a JSON *result*: output locations, globals
set, recorded stats, log lines, or a structured error with the remote
traceback. :class:`.client.RemoteExecutor` is the local half.
"""
