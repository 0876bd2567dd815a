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

# --- pinned versions: infra/requirements/{base,deploy,compliance}.txt ------
# (pip requirements files; bump a pin there: the stamps hold the files'
# contents, so the next run reinstalls).
# Bump when the install procedure itself changes, to invalidate old stamps.
STAMP_FORMAT=2

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

REQS_DIR="$REPO/infra/requirements"
base_reqs="$REQS_DIR/base.txt"
deploy_reqs="$REQS_DIR/deploy.txt"
compliance_reqs="$REQS_DIR/compliance.txt"
base_stamp="$VENV/.fd-stamp-base"
deploy_stamp="$VENV/.fd-stamp-deploy"
compliance_stamp="$VENV/.fd-stamp-compliance"

# slurp VAR FILE: the whole of FILE into VAR, byte for byte (pure bash: the
# fast path forks nothing).
slurp() {
  IFS= read -r -d '' "$1" <"$2" || true
}

# reqs_key VAR FILE: the stamp key of the requirements file FILE: the stamp
# format and the file's whole contents, so that any edit of it changes the key.
reqs_key() {
  if [[ ! -f "$2" ]]; then
    echo "venv.sh: missing requirements file $2" >&2
    exit 1
  fi
  local contents=""
  slurp contents "$2"
  printf -v "$1" 'v%s\n%s' "$STAMP_FORMAT" "$contents"
}

reqs_key base_key "$base_reqs"
deploy_key="" compliance_key=""
if (( deploy )) || [[ -f "$deploy_stamp" ]]; then
  reqs_key deploy_key "$deploy_reqs"
fi
if (( compliance )) || [[ -f "$compliance_stamp" ]]; then
  reqs_key compliance_key "$compliance_reqs"
fi

# stamp_ok FILE KEY: true when FILE exists and holds exactly KEY.
stamp_ok() {
  [[ -f "$1" ]] || return 1
  local have=""
  slurp have "$1"
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
req_files=("$base_reqs")
if (( deploy )) || [[ -f "$deploy_stamp" ]]; then
  # Keep deploy tools consistent if they were installed before, too.
  req_files+=("$deploy_reqs")
  want_deploy=1
else
  want_deploy=0
fi
if (( compliance )) || [[ -f "$compliance_stamp" ]]; then
  # Likewise for the compliance checkers.
  req_files+=("$compliance_reqs")
  want_compliance=1
else
  want_compliance=0
fi

# The requirement lines of the files (comments and blank lines dropped), for
# the progress message.
reqs=()
for file in "${req_files[@]}"; do
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%%#*}"
    read -r -a words <<<"$line"
    reqs+=("${words[@]}")
  done <"$file"
done

pip_args=()
for file in "${req_files[@]}"; do
  pip_args+=(-r "$file")
done

echo "venv.sh: installing ${reqs[*]}" >&2
rm -f "$base_stamp" "$deploy_stamp" "$compliance_stamp"
pip_install "${pip_args[@]}"

printf '%s' "$base_key" >"$base_stamp"
if (( want_deploy )); then
  printf '%s' "$deploy_key" >"$deploy_stamp"
fi
if (( want_compliance )); then
  printf '%s' "$compliance_key" >"$compliance_stamp"
fi
echo "venv.sh: $VENV is ready" >&2
