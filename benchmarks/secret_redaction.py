"""What the value-based secret backstop costs per character of text it checks.

``SecretRegistry.redact_text`` runs on every log line, manifest string, span
attribute, checkpoint record and printed line of a run. This prints, for
text of a few sizes (a log line, a 4 KB error message with a traceback, a
1 MB blob), the nanoseconds per character with

* no secret registered (the cost of every run that reads no secret),
* 10 random secrets registered and none present (the usual case),
* 10 secrets registered and one present in its base64 form,

and, as the baseline, the cost of the old raw-only check: ``secret in
text`` for each of the 10 secrets (what a registry that looks for the raw
value alone pays; it finds none of the encoded forms). The ratio column is
the backstop's cost as a multiple of that baseline.

Run from the repository root::

    python benchmarks/secret_redaction.py
"""

from __future__ import annotations

import base64
import functools
import random
import string
import time
from collections.abc import Callable

from pypeline.core.secret import SecretRegistry


def _per_char(fn: Callable[[], object], chars: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()  # CPU time: the machine may be shared
        for _ in range(repeat):
            fn()
        best = min(best, (time.process_time() - start) / repeat)
    return best / chars * 1e9


def _raw_only(secrets: list[str], text: str) -> list[bool]:
    """The old check: the raw values only."""
    return [s in text for s in secrets]


def main() -> None:
    rng = random.Random(7)
    secrets = ["".join(rng.choice(string.ascii_letters + string.digits + "%/+") for _ in range(32)) for _ in range(10)]
    empty, full = SecretRegistry(), SecretRegistry()
    for secret in secrets:
        full.add(secret)
    line = (
        '{"event": "module_finished", "level": "info", "node_id": "load#3", "rows_in": 100, "rows_out": 99, '
        '"run_id": "20261204T101010-abcdef", "timestamp": "2026-12-04T10:10:10.123Z"}'
    )
    texts = {
        "log line": line,
        "4 KB message": "".join(rng.choice(string.printable) for _ in range(4096)),
        "1 MB blob": "".join(rng.choice(string.printable) for _ in range(1 << 20)),
    }
    print(f"{'text':<14}{'empty':>10}{'no hit':>10}{'one hit':>10}{'raw only':>10}{'ratio':>8}   (ns per character)")
    for name, text in texts.items():
        repeat = max(1, 200_000 // len(text))
        hit = text[: len(text) // 2] + base64.b64encode(secrets[3].encode()).decode() + text[len(text) // 2 :]
        none = _per_char(functools.partial(empty.redact_text, text), len(text), repeat)
        clean = _per_char(functools.partial(full.redact_text, text), len(text), repeat)
        found = _per_char(functools.partial(full.redact_text, hit), len(hit), repeat)
        raw = _per_char(functools.partial(_raw_only, secrets, text), len(text), repeat)
        print(f"{name:<14}{none:>10.2f}{clean:>10.2f}{found:>10.2f}{raw:>10.2f}{clean / raw:>8.1f}")


if __name__ == "__main__":
    main()
