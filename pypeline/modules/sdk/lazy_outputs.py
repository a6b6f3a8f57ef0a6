"""``atomic_output_path`` for a sink whose write awaits: a dask-mode sink computing through ``ctx.compute``.

A dask-mode sink builds its write as lazy collections (``to_parquet(...,
compute=False)``, :func:`pypeline.modules.partitioned.partition_writes`) into
the temporary path of :func:`~pypeline.modules.sdk.outputs.atomic_output_path`,
then awaits ``ctx.compute`` so that the run computes it together with the
other sinks of the sub flow (``sdk/joint.py``). The publish protocol is that
of ``atomic_output_path`` unchanged (the same checks, the same private
temporary folder recorded for ``--resume``, the same rename); only the block
is asynchronous:

    async with atomic_output_path_async(path, ctx, folder=True) as tmp:
        task = await ctx.executor.run_in_thread(frame.to_parquet, str(tmp), compute=False)
        await ctx.compute(task)

The file-system work of entering (checks, ``mkdtemp``) and of a successful
exit (``fsync``, rename) runs on the context's thread runner. When the block
fails or is cancelled (a failed compute, a timeout, a halting run) the
temporary folder is removed on the spot, nothing is published, and the old
output stays. (A task of a stopped computation that was still writing into
the folder may leave it behind: it is in the run's list of temporaries, and
``--resume`` removes it.)
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pypeline.modules.sdk.outputs import atomic_output_path


@asynccontextmanager
async def atomic_output_path_async(
    final: str | os.PathLike[str],
    ctx: Any,
    *,
    folder: bool | None = None,
    replace_output_of: Iterable[str] = (),
    storage_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[Path]:
    """Yield a temporary path for ``final`` to an async block; publish it when the block succeeds.

    Args and raises: as :func:`~pypeline.modules.sdk.outputs.atomic_output_path`.
    """
    manager = atomic_output_path(
        final, ctx, folder=folder, replace_output_of=replace_output_of, storage_options=storage_options
    )
    tmp = await ctx.executor.run_in_thread(manager.__enter__)
    try:
        yield tmp
    except BaseException:
        # on the loop, at once: a cancelled attempt must not wait for a thread to clean up
        manager.__exit__(*sys.exc_info())
        raise
    await ctx.executor.run_in_thread(manager.__exit__, None, None, None)
