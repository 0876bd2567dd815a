#!/usr/bin/env bash
# Items DynamoDB reads for an Okta-style startIndex walk of a large directory, against moto (see
# shared/examples/list_walk.rs). Starts moto unless it is running, and leaves it running (stop it with
# infra/scripts/moto.sh stop).
#
#   bench/list-walk.sh                  10,000 users, count=100
#   USERS=1000 COUNT=50 bench/list-walk.sh
#   COLD=0 bench/list-walk.sh           the continued walk only (the cold walk of 10,000 users takes moto ~20 min)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
eval "$(infra/scripts/moto.sh start)"
cargo run --locked -q -p fd-shared --features contract-tests --example list_walk
