#!/usr/bin/env bash
# Runs every check and test of the project, on a fresh machine as on a developer's:
#   formatting, clippy (warnings are errors), cfn-lint on template.yaml, the unit and contract tests on SQLite,
#   the DynamoDB contract and call-budget tests and the end-to-end Okta replay on a local moto server, and the
#   API Gateway event files through their handlers, the crash-safety test, the SCIM compliance checkers
#   (scim2-tester, scim-sanity) against a throwaway fd-local, the address book in headless Chromium, and a smoke run
#   of every fuzz target.
# It installs what it needs (moto, cfn-lint, signxml and the checkers into .venv; xmlsec1, chromium and
# chromium-driver with apt-get when run as root; selenium, pytest and axe-core; cargo-fuzz), starts moto on a free
# loopback port, and stops it again.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

step() { printf '\n==> %s\n' "$*" >&2; }

step "Python tools (.venv)"
infra/scripts/venv.sh --compliance-tools

step "system tools (xmlsec1, the independent signer of the SAML interop tests)"
if ! command -v xmlsec1 >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xmlsec1 >/dev/null
  else
    echo "test.sh: xmlsec1 is missing; install it (Debian/Ubuntu: sudo apt-get install xmlsec1)" >&2
    exit 1
  fi
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --features fd-shared/contract-tests --locked -- -D warnings

step "cfn-lint template.yaml"
infra/scripts/lint-template.sh

step "build binaries (fd-local, fd-admin, functions)"
cargo build --workspace --locked

step "moto (DynamoDB + Secrets Manager emulator)"
moto_was_running=0
if [[ -f .moto/pid ]] && kill -0 "$(<.moto/pid)" 2>/dev/null; then
  moto_was_running=1
fi
eval "$(infra/scripts/moto.sh start)"
if (( moto_was_running == 0 )); then
  trap 'infra/scripts/moto.sh stop' EXIT
fi
export FD_TEST_AWS_ENDPOINT

step "cargo test"
cargo test --workspace --features fd-shared/contract-tests --locked

step "SCIM compliance checkers against fd-local"
FD_BIN_DIR="$REPO/target/debug" infra/scripts/compliance.sh

step "real-browser tests (headless Chromium, axe-core) against fd-local"
FD_BIN_DIR="$REPO/target/debug" infra/scripts/browser-tests.sh

step "fuzz smoke run (every cargo-fuzz target, a few seconds each, from the committed corpora)"
FUZZ_SECONDS="${FUZZ_SECONDS:-5}" infra/scripts/fuzz.sh
