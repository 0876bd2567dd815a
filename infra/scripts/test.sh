#!/usr/bin/env bash
# Runs every check and test of the project, on a fresh machine as on a developer's:
#   formatting, clippy (warnings are errors), cfn-lint on template.yaml, the unit and contract tests on SQLite,
#   the DynamoDB contract and call-budget tests and the end-to-end Okta replay on a local moto server, and the
#   API Gateway event files through their handlers.
# It installs what it needs into .venv (moto, cfn-lint), starts moto on a free loopback port, and stops it again.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

step() { printf '\n==> %s\n' "$*" >&2; }

step "Python tools (.venv)"
infra/scripts/venv.sh

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
