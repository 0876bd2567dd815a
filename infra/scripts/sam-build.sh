#!/usr/bin/env bash
# Build the Lambda functions in template.yaml with `sam build`, without Docker.
#
# BuildMethod rust-cargolambda makes SAM run, for each function, in its
# CodeUri (the function's package directory, so only that package's features
# are enabled):   cargo lambda build --release --bin <Binary>
# with CARGO_TARGET_DIR set to the workspace's shared target/ directory.
# No beta-feature flag is needed with the pinned SAM CLI (rust-cargolambda
# is no longer in its list of beta build methods).
# cargo-lambda links with zig, which the `ziglang` PyPI package (a
# dependency of cargo-lambda) installs into .venv; so .venv/bin goes first
# on PATH. Artifacts: .aws-sam/build/<LogicalId>/bootstrap plus
# .aws-sam/build/template.yaml, which `sam deploy` picks up by default.
#
# Extra arguments are passed to `sam build` (e.g. --debug, or
# --parameter-overrides LogLevel=debug).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$REPO/infra/scripts/venv.sh" --deploy-tools

export PATH="$REPO/.venv/bin:$PATH"

if ! command -v cargo >/dev/null 2>&1; then
  echo "sam-build.sh: cargo not found on PATH; install Rust (https://rustup.rs)" >&2
  exit 1
fi

# No usage telemetry from SAM CLI (it would also stall on a closed network).
export SAM_CLI_TELEMETRY=0
# zig (global cache) and cargo-zigbuild (linker wrapper scripts) write under
# ${XDG_CACHE_HOME:-$HOME/.cache}. Where that is not writable (read-only or
# missing HOME, some CI sandboxes) fall back to a cache inside target/.
cache_root="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}"
if ! { mkdir -p "$cache_root" && [[ -w "$cache_root" ]]; } 2>/dev/null; then
  export XDG_CACHE_HOME="$REPO/target/.cache"
  mkdir -p "$XDG_CACHE_HOME"
fi

cd "$REPO"
exec sam build --template-file template.yaml "$@"
