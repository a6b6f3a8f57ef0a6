"""The output cache's services (docs/cache.md): keys, file fingerprints, the store.

The hook in the node runner is ``pypeline/run/nodes/cache.py``.
"""
