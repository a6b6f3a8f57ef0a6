#!/usr/bin/env bash
# Set up PYpeline in .venv (non-editable install) and run an example job end to end:
# a Talend-style job that lists the CSV files of a folder, cleans each one in its own
# iteration of a sub flow, then combines the results (examples/file_iterate).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
rm -rf build  # setuptools' build/lib keeps files a rename removed, and the wheel would ship them
"$VENV/bin/python" -m pip install --quiet .
"$VENV/bin/pype" validate examples/file_iterate/flow.yaml
"$VENV/bin/pype" build examples/file_iterate/flow.yaml --out jobs
"$VENV/bin/pype" run jobs/file_iterate --progress plain --log-level warning
"$VENV/bin/python" - <<'PY'
import csv
from pathlib import Path

out = Path("out/file_iterate")
for path in sorted(out.glob("clean_*.csv")):
    with open(path, newline="") as fh:
        print(f"{path}: {sum(1 for _ in csv.DictReader(fh))} rows")
with open(out / "all_clean.csv", newline="") as fh:
    rows = list(csv.DictReader(fh))
print(f"{out / 'all_clean.csv'}: {len(rows)} rows, all amounts > 0: {all(float(r['amount']) > 0 for r in rows)}")
PY
