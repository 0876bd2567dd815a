#!/usr/bin/env bash
# Lint the SAM template with cfn-lint (pinned in infra/scripts/venv.sh).
# Exits non-zero when cfn-lint reports any finding (error, warning or
# informational-level rule it runs by default). Extra arguments are passed
# to cfn-lint, e.g. `infra/scripts/lint-template.sh --format parseable`.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$REPO/infra/scripts/venv.sh"

cd "$REPO"
status=0
"$REPO/.venv/bin/cfn-lint" "$@" -- template.yaml || status=$?
if (( status != 0 )); then
  echo "lint-template.sh: cfn-lint reported findings in template.yaml (exit $status)" >&2
  exit "$status"
fi
echo "lint-template.sh: template.yaml OK"
