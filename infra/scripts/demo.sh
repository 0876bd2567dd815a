#!/usr/bin/env bash
# Seeds a local address book to try in a browser: company "acme" with two directories whose sign-in goes through
# fd-local's development IdP, an access key each, and a dozen people provisioned over SCIM as Okta does (one with a
# manager, one deactivated). Run it while `fd-local --dev-idp` runs (same data directory), then open
#   <public URL>/of/acme  →  Sign in with Okta  →  sign in as ada@acme.example
#
# Environment: FD_URL (default http://127.0.0.1:3000), FD_DATA_DIR (default .fd-data), BIN (a directory with
# fd-admin and fd-dev-idp; default: built with `cargo build --release`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

URL="${FD_URL:-http://127.0.0.1:3000}"
DATA="${FD_DATA_DIR:-.fd-data}"
if [[ -z "${BIN:-}" ]]; then
  cargo build -q --release --bin fd-admin --bin fd-dev-idp
  BIN=target/release
fi
admin() { "$BIN/fd-admin" --data-dir "$DATA" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

if ! curl -s -o /dev/null "$URL/of"; then
  echo "demo.sh: nothing answers at $URL: start fd-local first (cargo run --release --bin fd-local -- --dev-idp)" >&2
  exit 1
fi
admin company create acme --name "Acme Corp" --json >/dev/null 2>&1 || true
cert="$(mktemp)"
trap 'rm -f "$cert"' EXIT
FD_DEV_IDP_KEY="$DATA/dev-idp-key.pem" "$BIN/fd-dev-idp" certificate >"$cert"

provision() { # token userName displayName given family title department phone [manager] [active]
  local body
  body=$(python3 - "$@" <<'PY'
import json, sys
_, token, user, display, given, family, title, dept, phone, *rest = sys.argv
manager = rest[0] if rest and rest[0] else None
active = (rest[1] != "false") if len(rest) > 1 else True
enterprise = {"department": dept, "division": "Europe" if phone.startswith("+31") else "Americas",
              "employeeNumber": str(abs(hash(user)) % 100000)}
if manager:
    enterprise["manager"] = {"displayName": manager}
print(json.dumps({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "userName": user, "displayName": display, "name": {"givenName": given, "familyName": family},
    "title": title, "active": active,
    "emails": [{"value": user, "type": "work", "primary": True}],
    "phoneNumbers": [{"value": phone, "type": "work", "primary": True}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": enterprise}))
PY
)
  curl -s -o /dev/null -w "%{http_code} $2\n" -X POST -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/scim+json' "$URL/scim/v2/Users" -d "$body"
}

for name in "Okta EU" "Okta US"; do
  dir=$(admin directory create "$name" --company acme --json | json id)
  token=$(admin key create --directory "$dir" --name "Okta" --json | json token)
  admin saml set --directory "$dir" --login-url "$URL/dev-idp" --certificate "$cert" --public-url "$URL" >/dev/null
  if [[ "$name" == "Okta EU" ]]; then
    provision "$token" charles@acme.example "Charles Babbage" Charles Babbage "Director of Engineering" Engineering "+31 20 555 0100"
    provision "$token" ada@acme.example "Ada Lovelace" Ada Lovelace "Analyst" Engineering "+31 20 555 0101" "Charles Babbage"
    provision "$token" jose@acme.example "José Müller" José Müller "Engineer" Engineering "+31 20 555 0102" "Charles Babbage"
    provision "$token" sofia@acme.example "Sofia Kovalevskaya" Sofia Kovalevskaya "Mathematician" Research "+31 20 555 0103"
    provision "$token" emmy@acme.example "Emmy Noether" Emmy Noether "Head of Research" Research "+31 20 555 0104"
    provision "$token" alan@acme.example "Alan Turing" Alan Turing "Cryptanalyst" Research "+31 20 555 0105" "Emmy Noether" false
  else
    provision "$token" grace@acme.example "Grace Hopper" Grace Hopper "Rear Admiral" Engineering "+1 212 555 0199"
    provision "$token" katherine@acme.example "Katherine Johnson" Katherine Johnson "Mathematician" Research "+1 757 555 0123" "Grace Hopper"
    provision "$token" margaret@acme.example "Margaret Hamilton" Margaret Hamilton "Software Engineer" Engineering "+1 617 555 0150" "Grace Hopper"
    provision "$token" dorothy@acme.example "Dorothy Vaughan" Dorothy Vaughan "Supervisor" Research "+1 757 555 0124"
  fi
done
echo "Open $URL/of/acme and sign in as ada@acme.example (or anyone above)."
