//! Interoperability: responses signed by independent implementations must verify, and responses signed by
//! the development IdP must verify in xmlsec1.
//!
//! * xmlsec1 (libxmlsec1 + libxml2 c14n + OpenSSL): Debian package `xmlsec1`.
//! * Python signxml (lxml/libxml2 c14n + pyca/cryptography): pinned in `infra/scripts/venv.sh`, used from
//!   `<repo>/.venv` (or the interpreter in `FD_SAML_PYTHON`).
//!
//! A missing tool makes these tests FAIL with instructions; they never pass silently.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use fd_saml::SamlError;
use fd_saml::dev_idp::{ResponseOptions, SignMode};

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

struct Workdir(PathBuf);

impl Workdir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("fd-saml-{tag}-{}-{}", std::process::id(), uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = Workdir(dir);
        std::fs::write(w.path("key.pem"), idp().private_key_pem().unwrap()).unwrap();
        std::fs::write(w.path("cert.pem"), idp().certificate_pem()).unwrap();
        w
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn run(cmd: &mut Command, tool: &str, install_hint: &str) -> String {
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("{tool} could not be started ({e}). {install_hint}"),
    };
    if out.status.code() == Some(127) {
        panic!("{tool} is not installed. {install_hint}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(out.status.success(), "{tool} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const XMLSEC1_HINT: &str = "Install it: `apt-get update && apt-get install -y xmlsec1` (Debian package xmlsec1).";

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FD_SAML_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if !venv.exists() {
        panic!(
            "{} not found: run infra/scripts/venv.sh (it installs the pinned signxml), or set FD_SAML_PYTHON",
            venv.display()
        );
    }
    venv
}

const SIGNXML_HINT: &str = "Run infra/scripts/venv.sh (signxml is pinned in its BASE_REQS) and retry.";

fn mode_arg(sign: SignMode) -> &'static str {
    match sign {
        SignMode::Both => "both",
        SignMode::ResponseOnly => "response",
        SignMode::AssertionOnly => "assertion",
        SignMode::None => unreachable!(),
    }
}

/// Sign `template` (with ds:Signature templates) with xmlsec1.
fn xmlsec1_sign(template: &str, sign: SignMode) -> String {
    let w = Workdir::new("xmlsec1");
    std::fs::write(w.path("in.xml"), template).unwrap();
    run(
        Command::new("bash")
            .arg(tests_dir().join("sign_with_xmlsec1.sh"))
            .arg(w.path("key.pem"))
            .arg(w.path("cert.pem"))
            .arg(w.path("in.xml"))
            .arg(mode_arg(sign)),
        "xmlsec1",
        XMLSEC1_HINT,
    )
}

/// Sign `unsigned` (no signatures) with signxml.
fn signxml_sign(unsigned: &str, sign: SignMode) -> String {
    let w = Workdir::new("signxml");
    std::fs::write(w.path("in.xml"), unsigned).unwrap();
    run(
        Command::new(python())
            .arg(tests_dir().join("sign_with_signxml.py"))
            .arg(w.path("key.pem"))
            .arg(w.path("cert.pem"))
            .arg(w.path("in.xml"))
            .arg(mode_arg(sign)),
        "signxml",
        SIGNXML_HINT,
    )
}

fn xmlsec1_template(o: &ResponseOptions) -> String {
    let mut o = o.clone();
    o.embed_certificate = false; // xmlsec1 would need an X509Data template; the key comes from config anyway
    idp().response_template(&o)
}

fn unsigned(o: &ResponseOptions) -> String {
    let mut o = o.clone();
    o.sign = SignMode::None;
    idp().response_template(&o)
}

fn accept(xml: &str, sign: SignMode) {
    let v = assert_accepted(check_xml(xml));
    assert_eq!(v.name_id, USER);
    assert_eq!(v.in_response_to.as_deref(), Some("id4f1e2d3c"));
    assert_eq!(v.attribute_values("groups"), ["Everyone", "fd-admins"]);
    let expected = match sign {
        SignMode::Both => (true, true),
        SignMode::ResponseOnly => (true, false),
        SignMode::AssertionOnly => (false, true),
        SignMode::None => unreachable!(),
    };
    assert_eq!((v.signed.response, v.signed.assertion), expected);
}

const MODES: [SignMode; 3] = [SignMode::Both, SignMode::ResponseOnly, SignMode::AssertionOnly];

#[test]
fn xmlsec1_signed_responses_verify() {
    for sign in MODES {
        let xml = xmlsec1_sign(&xmlsec1_template(&opts(sign)), sign);
        assert!(xml.contains("<ds:SignatureValue>") && !xml.contains("<ds:SignatureValue/>"), "{xml}");
        accept(&xml, sign);
    }
}

#[test]
fn signxml_signed_responses_verify() {
    for sign in MODES {
        let xml = signxml_sign(&unsigned(&opts(sign)), sign);
        assert!(xml.contains("<ds:SignatureValue>"), "{xml}");
        accept(&xml, sign);
    }
}

/// Content that exercises every c14n rule: CRLF line endings, character references for CR/TAB/LF in text and
/// attributes, escaped specials, non-ASCII, CDATA, `xs` declared only on the Response (so the assertion's
/// PrefixList="xs" must pull it in from an ancestor), an unused namespace declaration, single-quoted
/// attributes, attributes needing reordering.
fn tricky(template: &str) -> String {
    let mut x = template.replace(" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"", "");
    x = replace_once(
        &x,
        "<saml2p:Response ",
        "<saml2p:Response xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:unused=\"urn:unused\" ",
    );
    x = x.replace(
        ">Everyone</saml2:AttributeValue>",
        ">Every&#13;one &amp; &lt;all&gt; \"quoted\" 'single' &#9;tab\r\n crlf ünïcødé 🦀 <![CDATA[<cdata & stuff>]]></saml2:AttributeValue>",
    );
    x = replace_once(
        &x,
        "<saml2:Attribute Name=\"groups\"",
        "<saml2:Attribute FriendlyName='a&#10;b&#9;c&#13;d &lt;&amp;&gt;&quot;' Name=\"groups\"",
    );
    // Literal whitespace inside an attribute value (normalized to spaces by every XML processor).
    x = replace_once(
        &x,
        "<saml2:Attribute Name=\"email\"",
        "<saml2:Attribute FriendlyName=\"e\n\tmail  x\" Name=\"email\"",
    );
    x.replace('\n', "\r\n")
}

fn accept_tricky(xml: &str, sign: SignMode) {
    let v = assert_accepted(check_xml(xml));
    assert_eq!(v.name_id, USER);
    let groups = v.attribute_values("groups");
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(groups[0].starts_with("Every"), "{groups:?}");
    let _ = sign;
}

#[test]
fn xmlsec1_signed_tricky_content_verifies() {
    for sign in MODES {
        let xml = xmlsec1_sign(&tricky(&xmlsec1_template(&opts(sign))), sign);
        accept_tricky(&xml, sign);
        // The same document with its line endings turned into CRLF after signing still verifies.
        accept_tricky(&xml.replace('\n', "\r\n"), sign);
    }
}

#[test]
fn signxml_signed_tricky_content_verifies() {
    for sign in MODES {
        let xml = signxml_sign(&tricky(&unsigned(&opts(sign))), sign);
        accept_tricky(&xml, sign);
    }
}

/// The reverse direction: xmlsec1 verifies what the development IdP signs (so its c14n is libxml2's too).
#[test]
fn xmlsec1_verifies_dev_idp_signatures() {
    let w = Workdir::new("xmlsec1-verify");
    for (name, xml) in [("plain", signed(SignMode::Both)), ("tricky", signed_with(SignMode::Both, |t| tricky(&t)))] {
        let file = w.path(&format!("{name}.xml"));
        std::fs::write(&file, &xml).unwrap();
        for xpath in [
            "/*[local-name()='Response']/*[local-name()='Signature']",
            "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']",
        ] {
            verify_with_xmlsec1(&w.path("cert.pem"), &file, xpath);
        }
    }
}

fn verify_with_xmlsec1(cert: &Path, file: &Path, xpath: &str) {
    let out = Command::new("xmlsec1")
        .arg("--verify")
        .arg("--pubkey-cert-pem")
        .arg(cert)
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response"])
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"])
        .args(["--node-xpath", xpath])
        .arg(file)
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!("xmlsec1 could not be started ({e}). {XMLSEC1_HINT}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("OK"), "xmlsec1 --verify failed for {xpath}: {stderr}");
}

/// rsa-sha1 (signed by xmlsec1) is refused unless the configuration opts in.
#[test]
fn xmlsec1_rsa_sha1_needs_opt_in() {
    let template = xmlsec1_template(&opts(SignMode::AssertionOnly))
        .replace("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2000/09/xmldsig#rsa-sha1")
        .replace("http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2000/09/xmldsig#sha1");
    let xml = xmlsec1_sign(&template, SignMode::AssertionOnly);
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::UnsupportedSignature(_)));
    let mut cfg = config();
    cfg.allow_sha1 = true;
    assert_accepted(check_xml_with(&xml, &cfg));
}
