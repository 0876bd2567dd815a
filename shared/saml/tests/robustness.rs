//! Fuzz-ish robustness: `validate_response` never panics, on random bytes or on mutations of valid responses,
//! and a mutated response that is still accepted never yields another identity. Fixed seeds: reproducible.
//! (Coverage-guided fuzzing of the same entry point: `shared/saml/fuzz/`.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

mod common;

use common::*;
use fd_saml::dev_idp::SignMode;
use fd_saml::validate_response;

/// xorshift64*: tiny, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "&",
    "&amp;",
    "&#13;",
    "&#x0;",
    "&lol;",
    "\"",
    "'",
    "=",
    ":",
    " ",
    "\r\n",
    "\t",
    "<!---->",
    "<![CDATA[x]]>",
    "<x>",
    "</x>",
    "<?pi?>",
    "<!DOCTYPE x>",
    "xmlns=\"\"",
    "xmlns:saml2=\"urn:other\"",
    " ID=\"dup\"",
    " Id=\"dup\"",
    "<ds:Signature>",
    "</ds:Signature>",
    "<saml2:Assertion>",
    "\u{feff}",
    "é",
    "🦀",
    "\u{0}",
    "saml2:",
    "ds:",
    "#",
    "Success",
    "bearer",
];

fn mutate(rng: &mut Rng, doc: &[u8]) -> Vec<u8> {
    let mut d = doc.to_vec();
    for _ in 0..=rng.below(3) {
        let len = d.len();
        match rng.below(6) {
            0 => {
                let at = rng.below(len);
                d[at] = TOKENS[rng.below(TOKENS.len())].as_bytes()[0];
            }
            1 => {
                let at = rng.below(len);
                d[at] ^= 1 << rng.below(8);
            }
            2 => {
                let at = rng.below(len);
                let n = rng.below(64).min(len - at);
                d.drain(at..at + n);
            }
            3 => {
                let at = rng.below(len);
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                d.splice(at..at, token.iter().copied());
            }
            4 => {
                let from = rng.below(len);
                let n = rng.below(256).min(len - from);
                let chunk = d[from..from + n].to_vec();
                let at = rng.below(d.len());
                d.splice(at..at, chunk);
            }
            _ => {
                let at = rng.below(len);
                let n = rng.below(8);
                let junk = rng.bytes(n);
                d.splice(at..at, junk);
            }
        }
        if d.is_empty() {
            d.push(b'<');
        }
    }
    d
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x5A4D_4C5F_F00D_0001);
    let cfg = config();
    let t = now();
    for _ in 0..3000 {
        let n = rng.below(512);
        let raw = rng.bytes(n);
        let _ = validate_response(&raw, &cfg, t);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
        let _ = validate_response(b64.as_bytes(), &cfg, t);
        let mut xmlish = b"<".to_vec();
        xmlish.extend_from_slice(&raw);
        let _ = validate_response(base64::engine::general_purpose::STANDARD.encode(&xmlish).as_bytes(), &cfg, t);
    }
}

#[test]
fn mutated_responses_never_panic_nor_change_identity() {
    let cfg = config();
    let mut accepted = 0;
    let mut total = 0;
    for (seed, sign, rounds) in
        [(1u64, SignMode::Both, 1500), (2, SignMode::AssertionOnly, 1000), (3, SignMode::ResponseOnly, 1000)]
    {
        let o = opts(sign);
        let doc = idp().signed_response(&o).unwrap();
        let t = o.now;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        for _ in 0..rounds {
            let mutated = mutate(&mut rng, doc.as_bytes());
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&mutated);
            total += 1;
            if let Ok(v) = validate_response(b64.as_bytes(), &cfg, t) {
                accepted += 1;
                assert_eq!(v.name_id, USER, "mutation changed the identity:\n{}", String::from_utf8_lossy(&mutated));
                assert_eq!(v.assertion_id, o.assertion_id);
                assert_eq!(v.issuer, IDP_ENTITY_ID);
            }
        }
    }
    // Most mutations break the signature or the structure; some (in KeyInfo, whitespace between elements of the
    // unsigned envelope, ...) are harmless and still verify.
    eprintln!("{accepted} of {total} mutated responses were still accepted (same identity)");
    assert!(accepted < total / 2);
}
