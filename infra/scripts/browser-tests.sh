#!/usr/bin/env bash
# Runs the real-browser end-to-end tests (tests/browser): headless Chromium signs in through a development IdP,
# searches, opens contacts, downloads vCards, signs out, and checks security headers, a hostile profile and
# accessibility (axe-core), against fd-local on SQLite.
#
#   infra/scripts/browser-tests.sh [PYTEST ARGS...]     e.g. -k vcard, -x
#
# It installs what it needs when missing, quietly, and a second run installs nothing:
#   - Debian's chromium and chromium-driver (apt-get, as root);
#   - selenium and pytest, pinned in infra/requirements/browser.txt, into .venv (a stamp records what was installed);
#   - axe-core from npm (pinned below) under tests/browser/.cache/ (git-ignored).
# Then it runs `.venv/bin/pytest -q tests/browser` and exits with its status (no test run at all is a failure).
#
# Environment:
#   FD_BIN_DIR            fd-local, fd-admin and fd-dev-idp (default target/debug; build them first:
#                         cargo build -p fd-local -p fd-admin -p fd-dev-idp). Binaries older than a source are refused
#                         unless FD_BROWSER_ALLOW_STALE=1.
#   FD_BROWSER_ARTIFACTS  where screenshots and fd-local's log go (default target/browser-artifacts)
#   FD_BROWSER_WAIT       seconds a page may take to show what a test waits for (default 6)
set -euo pipefail

AXE_CORE_VERSION=4.14.1
# Bump when the install procedure itself changes, to invalidate old stamps.
STAMP_FORMAT=1

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

say() { printf 'browser-tests.sh: %s\n' "$*" >&2; }

# apt_install PACKAGE...: Debian packages, as root (apt-get update once per run).
apt_updated=0
apt_install() {
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing: $*; install them (Debian: sudo apt-get install $*)"
    exit 1
  fi
  say "installing $* (apt-get)"
  if (( apt_updated == 0 )); then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Chromium and chromedriver (Debian) ---
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  apt_install chromium chromium-driver
fi

# --- selenium and pytest (.venv) ---
infra/scripts/venv.sh # creates .venv with the project's base tools when missing; silent when up to date
REQUIREMENTS=infra/requirements/browser.txt
stamp=.venv/.fd-stamp-browser
# The key covers venv.sh's own stamps too: when venv.sh reinstalls (and may move shared dependencies), so do we.
key="v$STAMP_FORMAT $({ cat "$REQUIREMENTS" .venv/.fd-stamp-base .venv/.fd-stamp-deploy .venv/.fd-stamp-compliance \
  2>/dev/null || true; } | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(<"$stamp")" != "$key" || ! -x .venv/bin/pytest ]]; then
  say "installing $(grep -v '^#' "$REQUIREMENTS" | xargs) into .venv"
  rm -f "$stamp"
  PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/pip install -q --no-input -r "$REQUIREMENTS"
  printf '%s' "$key" >"$stamp"
fi

# --- axe-core (npm) ---
AXE_PREFIX="tests/browser/.cache/axe-core-$AXE_CORE_VERSION"
AXE_JS="$REPO/$AXE_PREFIX/node_modules/axe-core/axe.min.js"
if [[ ! -f "$AXE_JS" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt_install npm
  fi
  say "installing axe-core@$AXE_CORE_VERSION (npm)"
  mkdir -p "$AXE_PREFIX"
  npm install --no-save --no-audit --no-fund --silent --prefix "$AXE_PREFIX" "axe-core@$AXE_CORE_VERSION" >/dev/null
  [[ -f "$AXE_JS" ]] || { say "npm did not install $AXE_JS"; exit 1; }
fi

# --- run ---
export FD_BIN_DIR="${FD_BIN_DIR:-$REPO/target/debug}"
export FD_BROWSER_ARTIFACTS="${FD_BROWSER_ARTIFACTS:-$REPO/target/browser-artifacts}"
export FD_AXE_JS="$AXE_JS"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$FD_BROWSER_ARTIFACTS"

status=0
.venv/bin/pytest -q tests/browser "$@" || status=$?
if (( status == 5 )); then
  say "no test ran (pytest exit 5): that is a failure"
  exit 1
fi
if (( status == 0 )); then
  say "screenshots in $FD_BROWSER_ARTIFACTS"
fi
exit "$status"
