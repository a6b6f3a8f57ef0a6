#!/usr/bin/env bash
# Set up PYpeline in .venv (non-editable install) and run an example job end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet .
"$VENV/bin/pype" validate examples/spec_sample/flow.yaml
"$VENV/bin/pype" build examples/spec_sample/flow.yaml --out jobs
"$VENV/bin/pype" run jobs/sample_etl --progress plain
"$VENV/bin/python" - <<'PY'
import pandas as pd
frame = pd.read_parquet("out/sample_etl/output.parquet")
print(f"out/sample_etl/output.parquet: {len(frame)} rows, all age > 18: {bool((frame['age'] > 18).all())}")
PY
