//! A development identity provider: an RSA key, a self-signed certificate, and Okta-shaped signed
//! `samlp:Response` documents with fresh timestamps.
//!
//! For local development and tests only (cargo feature `dev-idp`). Never enable it in a deployed binary:
//! it signs whatever it is asked to.
//!
//! The shape follows what Okta sends: `saml2p:`/`saml2:` prefixes, the Response and the Assertion both
//! signed with RSA-SHA256 over exclusive c14n, an `InclusiveNamespaces PrefixList="xs"` on the assertion
//! reference (the attribute values carry `xsi:type="xs:string"`), and the certificate in `KeyInfo`.
//! Unlike Okta the document is indented, so that whitespace inside signed content is exercised.

use std::str::FromStr;
use std::time::Duration as StdDuration;

use base64::Engine as _;
use roxmltree::{Document, Node};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::sha2::{Digest, Sha256};
use rsa::{Pkcs1v15Sign, PrivateKey as RsaPrivateKey};
use time::OffsetDateTime;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::der::{Encode, EncodePem};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::spki::SubjectPublicKeyInfoRef;
use x509_cert::time::Validity;

use crate::c14n::ExcC14n;
use crate::consts::*;
use crate::keys::TrustedKeys;

/// A development IdP failed (key or certificate handling, or a template it cannot sign).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dev IdP: {0}")]
pub struct DevIdpError(pub String);

fn err(e: impl std::fmt::Display) -> DevIdpError {
    DevIdpError(e.to_string())
}

/// Which elements of the response to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignMode {
    /// Response and Assertion (Okta with "sign response and assertion").
    Both,
    /// Only the Response.
    ResponseOnly,
    /// Only the Assertion (Okta's default).
    AssertionOnly,
    /// Nothing (for negative tests).
    None,
}

/// What to put into a response.
#[derive(Clone, Debug)]
pub struct ResponseOptions {
    /// SP entity id (`Audience`).
    pub sp_entity_id: String,
    /// ACS URL (`Destination`, `Recipient`).
    pub acs_url: String,
    /// `NameID` text.
    pub name_id: String,
    /// `NameID/@Format`.
    pub name_id_format: String,
    /// `InResponseTo` on Response and SubjectConfirmationData (`None`: IdP-initiated).
    pub in_response_to: Option<String>,
    /// Issue time; `NotBefore` is `now - 5 min`, the `NotOnOrAfter`s are `now + lifetime`.
    pub now: OffsetDateTime,
    /// Validity of the assertion (default 5 minutes, like Okta).
    pub lifetime: time::Duration,
    /// Which parts to sign.
    pub sign: SignMode,
    /// Attributes (`xsi:type="xs:string"` values).
    pub attributes: Vec<(String, Vec<String>)>,
    /// Top-level status code (default Success).
    pub status_code: String,
    /// `Response/@ID`.
    pub response_id: String,
    /// `Assertion/@ID`.
    pub assertion_id: String,
    /// `AuthnStatement/@SessionIndex`.
    pub session_index: Option<String>,
    /// Put the signing certificate into `KeyInfo` (as Okta does).
    pub embed_certificate: bool,
}

impl ResponseOptions {
    /// Okta-like defaults: random IDs, 5-minute lifetime, both signed, an `email` attribute.
    pub fn new(
        sp_entity_id: impl Into<String>,
        acs_url: impl Into<String>,
        name_id: impl Into<String>,
        now: OffsetDateTime,
    ) -> Self {
        let name_id = name_id.into();
        Self {
            sp_entity_id: sp_entity_id.into(),
            acs_url: acs_url.into(),
            attributes: vec![("email".into(), vec![name_id.clone()])],
            name_id,
            name_id_format: NAMEID_UNSPECIFIED.into(),
            in_response_to: None,
            now,
            lifetime: time::Duration::minutes(5),
            sign: SignMode::Both,
            status_code: STATUS_SUCCESS.into(),
            response_id: format!("id{}", uuid::Uuid::new_v4().simple()),
            assertion_id: format!("id{}", uuid::Uuid::new_v4().simple()),
            session_index: Some(format!("id{}", uuid::Uuid::new_v4().simple())),
            embed_certificate: true,
        }
    }
}

/// The development IdP.
#[derive(Clone, Debug)]
pub struct DevIdp {
    entity_id: String,
    key: RsaPrivateKey,
    cert_der: Vec<u8>,
    cert_pem: String,
}

impl DevIdp {
    /// A new IdP with a fresh 2048-bit key (slow in debug builds: seconds).
    pub fn generate(entity_id: impl Into<String>) -> Result<Self, DevIdpError> {
        let key = RsaPrivateKey::new(&mut getrandom::SysRng, 2048).map_err(err)?;
        Self::with_key(entity_id.into(), key)
    }

    /// An IdP with the given private key (PEM, PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) and a new
    /// self-signed certificate for it.
    pub fn from_private_key_pem(entity_id: impl Into<String>, pem: &str) -> Result<Self, DevIdpError> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem).or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem)).map_err(err)?;
        Self::with_key(entity_id.into(), key)
    }

    fn with_key(entity_id: String, key: RsaPrivateKey) -> Result<Self, DevIdpError> {
        let spki = SubjectPublicKeyInfoOwned::from_key(&key.to_public_key()).map_err(err)?;
        let subject = Name::from_str("CN=fd-saml development IdP,O=Federated Directory").map_err(err)?;
        let validity = Validity::from_now(StdDuration::from_secs(10 * 365 * 24 * 3600)).map_err(err)?;
        let serial = SerialNumber::new(&uuid::Uuid::new_v4().as_bytes()[..15]).map_err(err)?;
        let signer = SigningKey::<Sha256>::new(key.clone());
        let builder = CertificateBuilder::new(SelfSigned(subject), serial, validity, spki).map_err(err)?;
        let cert = builder.build::<_, rsa::pkcs1v15::Signature>(&signer).map_err(err)?;
        let cert_der = cert.to_der().map_err(err)?;
        let cert_pem = cert.to_pem(LineEnding::LF).map_err(err)?;
        Ok(Self { entity_id, key, cert_der, cert_pem })
    }

    /// The IdP entity id (`Issuer`).
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// The self-signed certificate, PEM (what an admin would paste into the directory configuration).
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The private key, PKCS#8 PEM (for handing to independent signing tools in tests).
    pub fn private_key_pem(&self) -> Result<String, DevIdpError> {
        Ok(self.key.to_pkcs8_pem(LineEnding::LF).map_err(err)?.to_string())
    }

    /// The SP-side trust configuration for this IdP.
    pub fn trusted_keys(&self) -> Result<TrustedKeys, DevIdpError> {
        TrustedKeys::from_der(&self.cert_der).map_err(err)
    }

    /// A signed response, as XML text.
    pub fn signed_response(&self, opts: &ResponseOptions) -> Result<String, DevIdpError> {
        let mut xml = self.response_template(opts);
        if matches!(opts.sign, SignMode::Both | SignMode::AssertionOnly) {
            xml = self.sign_enveloped(&xml, Target::Assertion)?;
        }
        if matches!(opts.sign, SignMode::Both | SignMode::ResponseOnly) {
            xml = self.sign_enveloped(&xml, Target::Response)?;
        }
        Ok(xml)
    }

    /// A signed response, as the HTTP-POST binding `SAMLResponse` value (base64).
    pub fn signed_response_base64(&self, opts: &ResponseOptions) -> Result<String, DevIdpError> {
        Ok(encode_post_value(&self.signed_response(opts)?))
    }

    /// The response with signature *templates* (empty `DigestValue`/`SignatureValue`) for the parts
    /// `opts.sign` selects: the input format of `xmlsec1 --sign`.
    pub fn response_template(&self, opts: &ResponseOptions) -> String {
        let sign_response = matches!(opts.sign, SignMode::Both | SignMode::ResponseOnly);
        let sign_assertion = matches!(opts.sign, SignMode::Both | SignMode::AssertionOnly);
        let cert = opts.embed_certificate.then(|| base64::engine::general_purpose::STANDARD.encode(&self.cert_der));
        let response_sig =
            if sign_response { signature_template(&opts.response_id, &[], cert.as_deref()) } else { String::new() };
        let assertion_sig = if sign_assertion {
            signature_template(&opts.assertion_id, &["xs"], cert.as_deref())
        } else {
            String::new()
        };
        build_response(self.entity_id(), opts, &response_sig, &assertion_sig)
    }

    /// Sign the Response or the Assertion of `xml` in place: its `ds:Signature` template (a direct child with
    /// empty `DigestValue` and `SignatureValue`) is filled in. Sign the Assertion before the Response.
    pub fn sign_enveloped(&self, xml: &str, target: Target) -> Result<String, DevIdpError> {
        // 1. Digest.
        let (digest_at, digest) = {
            let doc = Document::parse(xml).map_err(err)?;
            let (element, sig) = target_and_signature(&doc, target)?;
            let prefixes = inclusive_prefixes(sig);
            let canonical = ExcC14n { inclusive_prefixes: &prefixes, exclude: Some(sig.id()) }
                .canonicalize(element)
                .map_err(|e| err(e.0))?;
            let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(canonical.as_bytes()));
            (empty_element_content_pos(xml, find_ds(sig, "DigestValue")?)?, digest)
        };
        let xml = format!("{}{}{}", &xml[..digest_at], digest, &xml[digest_at..]);
        // 2. Signature over the canonical SignedInfo.
        let (value_at, value) = {
            let doc = Document::parse(&xml).map_err(err)?;
            let (_, sig) = target_and_signature(&doc, target)?;
            let signed_info = find_ds(sig, "SignedInfo")?;
            let canonical = ExcC14n::default().canonicalize(signed_info).map_err(|e| err(e.0))?;
            let hashed = Sha256::digest(canonical.as_bytes());
            let signature = self.key.sign(Pkcs1v15Sign::new::<Sha256>(), &hashed).map_err(err)?;
            let value = base64::engine::general_purpose::STANDARD.encode(signature);
            (empty_element_content_pos(&xml, find_ds(sig, "SignatureValue")?)?, value)
        };
        Ok(format!("{}{}{}", &xml[..value_at], value, &xml[value_at..]))
    }
}

/// A plain self-signed certificate without extensions (like an IdP signing certificate).
struct SelfSigned(Name);

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }
    fn get_subject(&self) -> Name {
        self.0.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

/// The element [`DevIdp::sign_enveloped`] signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The root `samlp:Response`.
    Response,
    /// The `saml:Assertion` child of the Response.
    Assertion,
}

/// Base64-encode a document for the HTTP-POST binding.
pub fn encode_post_value(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml.as_bytes())
}

fn target_and_signature<'a, 'i>(
    doc: &'a Document<'i>,
    target: Target,
) -> Result<(Node<'a, 'i>, Node<'a, 'i>), DevIdpError> {
    let root = doc.root_element();
    let element = match target {
        Target::Response => root,
        Target::Assertion => root
            .children()
            .find(|c| c.has_tag_name((NS_ASSERTION, "Assertion")))
            .ok_or_else(|| err("no Assertion child"))?,
    };
    let sig = element
        .children()
        .find(|c| c.has_tag_name((NS_DSIG, "Signature")))
        .ok_or_else(|| err("no Signature template on the element"))?;
    Ok((element, sig))
}

fn find_ds<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Result<Node<'a, 'i>, DevIdpError> {
    node.descendants().find(|n| n.has_tag_name((NS_DSIG, name))).ok_or_else(|| err(format!("no ds:{name}")))
}

fn inclusive_prefixes(sig: Node<'_, '_>) -> std::collections::BTreeSet<String> {
    sig.descendants()
        .filter(|n| n.has_tag_name((NS_DSIG, "Transform")))
        .flat_map(|t| t.children().filter(|c| c.has_tag_name((NS_EXC_C14N, "InclusiveNamespaces"))))
        .filter_map(|n| n.attribute("PrefixList"))
        .flat_map(|l| l.split_whitespace().map(str::to_owned))
        .collect()
}

/// Byte position inside `<x></x>` (the element must be written as an empty start/end pair).
fn empty_element_content_pos(xml: &str, node: Node<'_, '_>) -> Result<usize, DevIdpError> {
    let r = node.range();
    let inner = xml.get(r.clone()).ok_or_else(|| err("range"))?;
    let gt = inner.find('>').ok_or_else(|| err("template element"))?;
    if inner[gt + 1..].starts_with("</") {
        Ok(r.start + gt + 1)
    } else {
        Err(err("signature template already filled or self-closing"))
    }
}

fn signature_template(id: &str, prefixes: &[&str], cert_b64: Option<&str>) -> String {
    let inclusive = if prefixes.is_empty() {
        String::new()
    } else {
        format!(r#"<ec:InclusiveNamespaces xmlns:ec="{NS_EXC_C14N}" PrefixList="{}"/>"#, prefixes.join(" "))
    };
    let key_info = cert_b64
        .map(|c| {
            format!("<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>")
        })
        .unwrap_or_default();
    format!(
        concat!(
            r#"<ds:Signature xmlns:ds="{ds}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/>"#,
            r##"<ds:SignatureMethod Algorithm="{rsa}"/><ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="{env}"/><ds:Transform Algorithm="{c14n}">{inclusive}</ds:Transform>"#,
            r#"</ds:Transforms><ds:DigestMethod Algorithm="{sha}"/><ds:DigestValue></ds:DigestValue></ds:Reference>"#,
            r#"</ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>{key_info}</ds:Signature>"#
        ),
        ds = NS_DSIG,
        c14n = ALG_EXC_C14N,
        rsa = ALG_RSA_SHA256,
        id = esc(id),
        env = ALG_ENVELOPED,
        inclusive = inclusive,
        sha = ALG_SHA256,
        key_info = key_info,
    )
}

fn build_response(issuer: &str, o: &ResponseOptions, response_sig: &str, assertion_sig: &str) -> String {
    let now = fmt_time(o.now);
    let not_before = fmt_time(o.now - time::Duration::minutes(5));
    let not_after = fmt_time(o.now + o.lifetime);
    let irt = o.in_response_to.as_deref().map(|v| format!(r#" InResponseTo="{}""#, esc(v))).unwrap_or_default();
    let session = o.session_index.as_deref().map(|v| format!(r#" SessionIndex="{}""#, esc(v))).unwrap_or_default();
    let mut attrs = String::new();
    for (name, values) in &o.attributes {
        attrs.push_str(&format!(
            "\n      <saml2:Attribute Name=\"{}\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified\">",
            esc(name)
        ));
        for v in values {
            attrs.push_str(&format!(
                "\n        <saml2:AttributeValue xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"xs:string\">{}</saml2:AttributeValue>",
                esc(v)
            ));
        }
        attrs.push_str("\n      </saml2:Attribute>");
    }
    let attribute_statement = if o.attributes.is_empty() {
        String::new()
    } else {
        format!("\n    <saml2:AttributeStatement>{attrs}\n    </saml2:AttributeStatement>")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<saml2p:Response xmlns:saml2p="{protocol}" Destination="{acs}" ID="{rid}"{irt} IssueInstant="{now}" Version="2.0">
  <saml2:Issuer xmlns:saml2="{assertion}" Format="{entity}">{issuer}</saml2:Issuer>{response_sig}
  <saml2p:Status>
    <saml2p:StatusCode Value="{status}"/>
  </saml2p:Status>
  <saml2:Assertion xmlns:saml2="{assertion}" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{aid}" IssueInstant="{now}" Version="2.0">
    <saml2:Issuer Format="{entity}">{issuer}</saml2:Issuer>{assertion_sig}
    <saml2:Subject>
      <saml2:NameID Format="{nid_format}">{name_id}</saml2:NameID>
      <saml2:SubjectConfirmation Method="{bearer}">
        <saml2:SubjectConfirmationData{irt} NotOnOrAfter="{not_after}" Recipient="{acs}"/>
      </saml2:SubjectConfirmation>
    </saml2:Subject>
    <saml2:Conditions NotBefore="{not_before}" NotOnOrAfter="{not_after}">
      <saml2:AudienceRestriction>
        <saml2:Audience>{audience}</saml2:Audience>
      </saml2:AudienceRestriction>
    </saml2:Conditions>
    <saml2:AuthnStatement AuthnInstant="{now}"{session}>
      <saml2:AuthnContext>
        <saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef>
      </saml2:AuthnContext>
    </saml2:AuthnStatement>{attribute_statement}
  </saml2:Assertion>
</saml2p:Response>
"#,
        protocol = NS_PROTOCOL,
        assertion = NS_ASSERTION,
        entity = NAMEID_ENTITY,
        bearer = CM_BEARER,
        acs = esc(&o.acs_url),
        rid = esc(&o.response_id),
        aid = esc(&o.assertion_id),
        issuer = esc(issuer),
        status = esc(&o.status_code),
        nid_format = esc(&o.name_id_format),
        name_id = esc(&o.name_id),
        audience = esc(&o.sp_entity_id),
    )
}

/// `xs:dateTime` in UTC with milliseconds, like Okta: `2024-01-02T03:04:05.678Z`.
pub fn fmt_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Escape for XML text and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}
