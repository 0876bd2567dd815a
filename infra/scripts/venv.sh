#!/usr/bin/env bash
# Create or update the project's Python virtualenv at <repo>/.venv with the
# pinned Python-distributed tools this repository uses.
#
#   infra/scripts/venv.sh                     moto[server] + cfn-lint + signxml
#   infra/scripts/venv.sh --deploy-tools      ... plus cargo-lambda and aws-sam-cli
#   infra/scripts/venv.sh --compliance-tools  ... plus the SCIM compliance checkers
#                                             scim2-tester and scim-sanity (Python 3.11+)
#
# Idempotent: a stamp file records what was installed, so a run with nothing
# to do returns immediately and silently. Callers never `source` anything;
# they run this script and then use .venv/bin/<tool> directly.
#
# Environment:
#   PYTHON   interpreter used to create the venv (default: python3)
set -euo pipefail

# --- pinned versions (bump here; the stamp makes the next run reinstall) ---
BASE_REQS=(
  "moto[server]==5.2.5"
  "cfn-lint==1.58.0"
  # Independent XML-DSig signer for the fd-saml interop tests (shared/saml/tests/sign_with_signxml.py).
  "signxml==5.2.0"
)
DEPLOY_REQS=(
  "cargo-lambda==1.9.2"
  "aws-sam-cli==1.170.0"
)
# SCIM compliance checkers run by infra/scripts/compliance.sh. Opt-in: they need
# Python 3.11+ (the base set runs on 3.9), and the tests never use them.
COMPLIANCE_REQS=(
  "scim2-tester[httpx2]==0.5.2"
  "scim-sanity==0.7.4"
)
# Bump when the install procedure itself changes, to invalidate old stamps.
STAMP_FORMAT=1

usage() {
  sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

deploy=0
compliance=0
for arg in "$@"; do
  case "$arg" in
    --deploy-tools) deploy=1 ;;
    --compliance-tools) compliance=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "venv.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
VENV="$REPO/.venv"

base_key="v$STAMP_FORMAT ${BASE_REQS[*]}"
deploy_key="v$STAMP_FORMAT ${DEPLOY_REQS[*]}"
compliance_key="v$STAMP_FORMAT ${COMPLIANCE_REQS[*]}"
base_stamp="$VENV/.fd-stamp-base"
deploy_stamp="$VENV/.fd-stamp-deploy"
compliance_stamp="$VENV/.fd-stamp-compliance"

# stamp_ok FILE KEY: true when FILE exists and holds exactly KEY (pure bash:
# the fast path forks nothing).
stamp_ok() {
  [[ -f "$1" ]] || return 1
  local have
  have="$(<"$1")"
  [[ "$have" == "$2" ]]
}

up_to_date() {
  # -x follows the symlink: a venv whose base interpreter vanished (Python
  # upgraded or removed) is treated as missing and rebuilt.
  [[ -x "$VENV/bin/python" ]] || return 1
  stamp_ok "$base_stamp" "$base_key" || return 1
  if (( deploy )); then
    stamp_ok "$deploy_stamp" "$deploy_key" || return 1
  fi
  if (( compliance )); then
    stamp_ok "$compliance_stamp" "$compliance_key" || return 1
  fi
  return 0
}

# Fast path: nothing to do.
if up_to_date; then
  exit 0
fi

# Slow path. Serialise concurrent runs (e.g. parallel CI steps) by locking
# this script file itself, then re-check: another run may have just finished.
exec 9<"${BASH_SOURCE[0]}"
if command -v flock >/dev/null 2>&1; then
  flock 9
  if up_to_date; then
    exit 0
  fi
fi

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "venv.sh: $PYTHON not found; install Python 3 (3.9 or newer)" >&2
  exit 1
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "venv.sh: creating $VENV" >&2
  # --clear: wipe a half-created or broken venv; every stamp goes with it.
  "$PYTHON" -m venv --clear "$VENV"
fi

if (( compliance )) || [[ -f "$compliance_stamp" ]]; then
  if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "venv.sh: the compliance tools need Python 3.11 or newer, and $VENV has" \
      "$("$VENV/bin/python" -V 2>&1); recreate it: rm -rf .venv && PYTHON=python3.11 $0 --compliance-tools" >&2
    exit 1
  fi
fi

pip_install() {
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install \
    --quiet --no-input "$@"
}

# Install everything that is requested in ONE resolver run, so pip picks
# versions of the shared dependencies (boto3, flask, ...) that satisfy all.
reqs=("${BASE_REQS[@]}")
if (( deploy )) || [[ -f "$deploy_stamp" ]]; then
  # Keep deploy tools consistent if they were installed before, too.
  reqs+=("${DEPLOY_REQS[@]}")
  want_deploy=1
else
  want_deploy=0
fi
if (( compliance )) || [[ -f "$compliance_stamp" ]]; then
  # Likewise for the compliance checkers.
  reqs+=("${COMPLIANCE_REQS[@]}")
  want_compliance=1
else
  want_compliance=0
fi

echo "venv.sh: installing ${reqs[*]}" >&2
rm -f "$base_stamp" "$deploy_stamp" "$compliance_stamp"
pip_install "${reqs[@]}"

printf '%s' "$base_key" >"$base_stamp"
if (( want_deploy )); then
  printf '%s' "$deploy_key" >"$deploy_stamp"
fi
if (( want_compliance )); then
  printf '%s' "$compliance_key" >"$compliance_stamp"
fi
echo "venv.sh: $VENV is ready" >&2
