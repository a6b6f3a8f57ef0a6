#!/usr/bin/env bash
# Install PYpeline with its test extras into .venv (non-editable, as users get it) and run the whole suite.
# Slow tests (real servers: PostgreSQL, OpenBao, dask, serverless-offline, moto) run too.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet ".[test]"
if [ -f tests/fixtures/lambda/package.json ] && [ ! -d tests/fixtures/lambda/node_modules ]; then
  (cd tests/fixtures/lambda && npm install --no-audit --no-fund --silent)
fi
exec "$VENV/bin/pytest" "$@"
