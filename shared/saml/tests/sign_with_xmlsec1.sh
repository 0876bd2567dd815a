#!/usr/bin/env bash
# Sign a SAML response template with xmlsec1 (the libxmlsec1/OpenSSL reference implementation), for the
# fd-saml interop tests.
#
#   sign_with_xmlsec1.sh KEY.pem CERT.pem TEMPLATE.xml MODE > signed.xml
#
# TEMPLATE holds ds:Signature templates (empty DigestValue/SignatureValue) on the elements to sign.
# MODE: assertion | response | both  (both: the Assertion first, then the Response over it).
# Exit 127 when xmlsec1 is not installed (Debian/Ubuntu: apt-get install -y xmlsec1).
set -euo pipefail

if ! command -v xmlsec1 >/dev/null 2>&1; then
  echo "sign_with_xmlsec1.sh: xmlsec1 not found; install it: apt-get update && apt-get install -y xmlsec1" >&2
  exit 127
fi
if [[ $# -ne 4 ]]; then
  sed -n '5,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
key=$1 cert=$2 template=$3 mode=$4

ids=(--id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response
     --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion)
assertion_sig="/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"
response_sig="/*[local-name()='Response']/*[local-name()='Signature']"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$template" "$tmp/in.xml"

sign() { # XPATH of the Signature template to fill
  xmlsec1 --sign --privkey-pem "$key,$cert" "${ids[@]}" --node-xpath "$1" --output "$tmp/out.xml" "$tmp/in.xml"
  mv "$tmp/out.xml" "$tmp/in.xml"
}

case "$mode" in
  assertion) sign "$assertion_sig" ;;
  response) sign "$response_sig" ;;
  both) sign "$assertion_sig"; sign "$response_sig" ;;
  *) echo "sign_with_xmlsec1.sh: MODE must be assertion, response or both" >&2; exit 2 ;;
esac
cat "$tmp/in.xml"
