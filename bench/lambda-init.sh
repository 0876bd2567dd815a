#!/usr/bin/env bash
# Cold-start init, warm invoke overhead and peak memory (VmHWM) of each function's release binary (the five SCIM verbs
# and saml-acs) against a bare lambda_http binary that builds the same SDK clients (bench/lambda-baseline), both driven
# by a minimal Lambda Runtime API on loopback (bench/lambda-init.py), with DynamoDB and Secrets Manager on a local moto
# server.
#
#   bench/lambda-init.sh [RUNS]        (default 30; or RUNS=… in the environment)
#   WARM_INVOKES=2000                  events each process answers after the cold one (0: cold start only)
#   CPU=<n>|none                       the one CPU of the stub and the binaries (default the last one)
#
# Writes bench/results/lambda-init.json and prints a table. Stops the moto server it started.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RUNS="${1:-${RUNS:-30}}"
WARM_INVOKES="${WARM_INVOKES:-2000}"
CPU="${CPU:-}"

nice -n 19 cargo build --release --locked -p fd-admin
nice -n 19 cargo build --release --locked -p scim-get -p scim-post -p scim-put -p scim-patch -p scim-delete \
  -p saml-acs -p lambda-baseline

moto_was_running=0
if [[ -f .moto/pid ]] && kill -0 "$(<.moto/pid)" 2>/dev/null; then moto_was_running=1; fi
eval "$(infra/scripts/moto.sh start)"
if (( moto_was_running == 0 )); then trap 'infra/scripts/moto.sh stop' EXIT; fi

export AWS_ENDPOINT_URL="$FD_TEST_AWS_ENDPOINT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export FD_DYNAMODB_TABLE="fd-init-bench" FD_SECRET_ID="fd-init-bench-pepper"
export FD_SESSION_SECRET_ID="fd-init-bench-session" FD_PUBLIC_URL="https://abc123defg.execute-api.eu-west-1.amazonaws.com"
target/release/fd-admin bootstrap >/dev/null

mkdir -p bench/results
bins=(baseline=target/release/lambda-baseline)
for v in get post put patch delete; do bins+=("scim-$v=target/release/scim-$v"); done
bins+=("saml-acs=target/release/saml-acs")
python3 bench/lambda-init.py --runs "$RUNS" --warm "$WARM_INVOKES" --cpu "$CPU" \
  --event tests/events/get-users-test-credentials.json --out bench/results/lambda-init.json "${bins[@]}"
