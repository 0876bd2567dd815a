#!/usr/bin/env python3
"""Sign a SAML response with Python signxml (lxml/libxml2 c14n + pyca/cryptography), for the fd-saml
interop tests.

    sign_with_signxml.py KEY.pem CERT.pem UNSIGNED.xml MODE > signed.xml

UNSIGNED holds no signatures. MODE: assertion | response | both (both: the Assertion first, then the
Response over it). Each signature is enveloped, placed right after the element's Issuer, exclusive c14n,
RSA-SHA256, SHA-256, no InclusiveNamespaces: signxml 5.2.0 cannot express a per-reference PrefixList
for enveloped signatures (it digests with the prefixes but does not write the InclusiveNamespaces element
into the Transform), so PrefixList="xs" is covered by the xmlsec1 and dev-IdP tests instead.
Exit 127 when signxml is missing: run infra/scripts/venv.sh and call this with .venv/bin/python.
"""
import sys

try:
    from lxml import etree
    from signxml import XMLSigner, methods
    from signxml.signer import SignatureReference
except ImportError as exc:  # pragma: no cover - environment problem
    print(
        f"sign_with_signxml.py: {exc}; install the pinned signxml with infra/scripts/venv.sh "
        "and run this script with .venv/bin/python",
        file=sys.stderr,
    )
    sys.exit(127)

DS = "http://www.w3.org/2000/09/xmldsig#"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


def sign(root, element_path, prefixes, key, cert):
    element = root if element_path is None else root.find(element_path)
    issuer = element.find(f"{{{SAML}}}Issuer")
    placeholder = etree.Element(f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
    issuer.addnext(placeholder)
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=EXC_C14N,
    )
    reference = SignatureReference(URI="#" + element.get("ID"), inclusive_ns_prefixes=prefixes)
    signed = signer.sign(root, key=key, cert=cert, reference_uri=[reference])
    # Re-parse so that the next signature sees exactly the serialized document.
    return etree.fromstring(etree.tostring(signed))


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("assertion", "response", "both"):
        print(__doc__, file=sys.stderr)
        return 2
    key = open(sys.argv[1], "rb").read()
    cert = open(sys.argv[2], "rb").read().decode()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    root = etree.parse(sys.argv[3], parser).getroot()
    mode = sys.argv[4]
    if mode in ("assertion", "both"):
        root = sign(root, f"{{{SAML}}}Assertion", None, key, cert)
    if mode in ("response", "both"):
        root = sign(root, None, None, key, cert)
    sys.stdout.buffer.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
