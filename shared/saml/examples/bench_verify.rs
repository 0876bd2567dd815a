//! Micro-benchmark: verify + parse of one Okta-shaped response (base64 POST value → `VerifiedAssertion`).
//!
//! `cargo run --release -p fd-saml --example bench_verify [ITERATIONS]`
//!
//! Prints the median, p90 and p99 of `validate_response` per sign mode (RSA-2048, SHA-256).

use std::time::{Duration, Instant};

use fd_saml::dev_idp::{DevIdp, ResponseOptions, SignMode};
use fd_saml::{ValidationConfig, validate_response};

const SP: &str = "https://fd.example.com/saml/metadata/dir-1";
const ACS: &str = "https://fd.example.com/saml/acs/dir-1";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let idp = DevIdp::generate("http://www.okta.com/exkbench")?;
    let config = ValidationConfig::new(SP, ACS, idp.trusted_keys()?).with_idp_entity_id(idp.entity_id());
    for sign in [SignMode::Both, SignMode::AssertionOnly, SignMode::ResponseOnly] {
        let now = time::OffsetDateTime::now_utc();
        let mut opts = ResponseOptions::new(SP, ACS, "admin@example.com", now);
        opts.sign = sign;
        opts.in_response_to = Some("id4f1e2d3c".into());
        opts.attributes = vec![
            ("email".into(), vec!["admin@example.com".into()]),
            ("firstName".into(), vec!["Ada".into()]),
            ("lastName".into(), vec!["Lovelace".into()]),
            ("groups".into(), vec!["Everyone".into(), "fd-admins".into(), "engineering".into()]),
        ];
        let value = idp.signed_response_base64(&opts)?;
        for _ in 0..100 {
            validate_response(value.as_bytes(), &config, now)?;
        }
        let mut samples: Vec<Duration> = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let start = Instant::now();
            let v = validate_response(value.as_bytes(), &config, now)?;
            samples.push(start.elapsed());
            std::hint::black_box(v);
        }
        samples.sort();
        let pct = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
        println!(
            "{sign:?}: {} bytes encoded, {iterations} runs: median {:?}, p90 {:?}, p99 {:?}",
            value.len(),
            pct(50),
            pct(90),
            pct(99)
        );
    }
    Ok(())
}
