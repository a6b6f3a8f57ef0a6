#!/usr/bin/env bash
# Install PYpeline with its test extras into .venv (non-editable, as users get it) and run the whole suite.
# Slow tests (real servers: PostgreSQL, OpenBao, dask, serverless-offline, moto) run too.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet ".[test]"
# serverless@3 + serverless-offline@13 serve the Lambda Invoke API for the lambda backend tests.
# Installed from the lock file; skipped when node_modules already matches it (idempotent).
if [ -f tests/fixtures/lambda/package.json ]; then
  if [ ! -x tests/fixtures/lambda/node_modules/.bin/serverless ] \
     || [ tests/fixtures/lambda/package-lock.json -nt tests/fixtures/lambda/node_modules/.package-lock.json ]; then
    (cd tests/fixtures/lambda && npm ci --no-audit --no-fund --silent)
  fi
fi
exec "$VENV/bin/pytest" "$@"
