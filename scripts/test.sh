#!/usr/bin/env bash
# The whole test suite, from a fresh clone: bootstrap, lint, type-check, pytest.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k codemods`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/mypy
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$status"
