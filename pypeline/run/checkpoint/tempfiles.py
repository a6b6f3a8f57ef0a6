"""Clean up the temporary folders a killed run left next to its sinks' outputs.

Sinks write through ``atomic_output_path`` (``modules/sdk/outputs.py``) into a
private folder ``.<name>.<random>.pype-tmp`` beside the final name, created
exclusively and renamed out of when complete. A run killed mid-write leaves
that folder behind, never a partial file under the final name.

Each run lists the folders it created in ``runs/<run_id>/temporaries.jsonl``
(``modules/sdk/temporaries.py``). A resumed run removes, before it starts,
exactly the folders listed by the runs of its resume chain that are still
the folders created then (same device and inode). Nothing is found by
pattern: a user's file named like a temporary is never touched, and another
run of the job writing at the same time keeps its own temporaries.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pypeline.modules.sdk.temporaries import LEDGER_FILE, remove_recorded


def remove_leftovers(runs_dir: Path, run_ids: Iterable[str]) -> list[str]:
    """Remove the temporary folders the runs ``run_ids`` recorded and left behind; return them."""
    return remove_recorded(runs_dir / run_id / LEDGER_FILE for run_id in run_ids)


def forget_temporaries(run_dir: Path) -> None:
    """Drop a finished run's list (its sinks removed their temporaries; nothing is left to clean)."""
    (run_dir / LEDGER_FILE).unlink(missing_ok=True)
