#!/usr/bin/env bash
# Run tenantfix on the bundled copy of the broken project from the write-up:
# what it finds (check) and the exact change it would make (apply --dry-run). Writes nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
project=tests/fixtures/writeup_project
echo "\$ tenantfix check $project"
.venv/bin/tenantfix check "$project"
echo
echo "\$ tenantfix apply --dry-run $project"
.venv/bin/tenantfix apply --dry-run "$project"
status=$?
# apply --dry-run exits 1 when it would change files: that is the expected outcome here.
[ "$status" -eq 1 ] && exit 0 || exit "$status"
