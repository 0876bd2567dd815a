#!/usr/bin/env bash
# Builds every fuzz target of tests/fuzz (cargo fuzz, libFuzzer, AddressSanitizer) and runs each for FUZZ_SECONDS
# seconds (default 10: a smoke run), one after the other, starting from the committed seed corpus
# tests/fuzz/corpus/<target>/ (read only: new inputs go to a temporary directory). Exits non-zero if any target
# crashes, times out or runs out of memory; the input is then saved under tests/fuzz/artifacts/<target>/
# (reproduce with `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz <target> <file>`).
#
#   infra/scripts/fuzz.sh                       # every target, 10 s each
#   FUZZ_SECONDS=300 infra/scripts/fuzz.sh scim_patch saml_response
#   FUZZ_RUNS=10000000 infra/scripts/fuzz.sh scim_filter   # a number of executions instead of a time
#
# cargo fuzz needs nightly compiler flags (-Z...); on the stable toolchain RUSTC_BOOTSTRAP=1 enables them. cargo-fuzz
# itself is installed from crates.io when missing. Seeds are regenerated with `cargo run --example seeds` in
# tests/fuzz.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
if ! [[ "$FUZZ_SECONDS" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: FUZZ_SECONDS must be a positive number of seconds, not '$FUZZ_SECONDS'" >&2
  exit 2
fi
FUZZ_RUNS="${FUZZ_RUNS:-}"
if [[ -n "$FUZZ_RUNS" ]] && ! [[ "$FUZZ_RUNS" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: FUZZ_RUNS must be a positive number of executions, not '$FUZZ_RUNS'" >&2
  exit 2
fi
if [[ -n "$FUZZ_RUNS" ]]; then budget=(-runs="$FUZZ_RUNS"); label="$FUZZ_RUNS executions"; else
  budget=(-max_total_time="$FUZZ_SECONDS"); label="${FUZZ_SECONDS} s"; fi
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

if (( $# > 0 )); then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir tests/fuzz)
fi

echo "==> building the fuzz targets" >&2
cargo fuzz build --fuzz-dir tests/fuzz

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  echo "==> $target: $label" >&2
  mkdir -p "$scratch/$target" "tests/fuzz/corpus/$target"
  log="$scratch/$target.log"
  if cargo fuzz run --fuzz-dir tests/fuzz "$target" "$scratch/$target" "tests/fuzz/corpus/$target" -- \
      "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    echo "    ok: ${runs:-?} executions" >&2
  else
    failed+=("$target")
    echo "    FAILED:" >&2
    grep -m1 -A2 'panicked at' "$log" >&2 || true
    grep -E '^(==[0-9]+== ERROR|SUMMARY|artifact_prefix|Test unit written|Base64)' "$log" >&2 || tail -n 20 "$log" >&2
  fi
done

if (( ${#failed[@]} > 0 )); then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]} (inputs under tests/fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, no crash" >&2
