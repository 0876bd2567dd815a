//! Content coding: gzip for browsers that accept it, negotiated from `Accept-Encoding` (RFC 9110 §12.5.3). Pages,
//! JSON, vCards and the assets are text that shrinks to a fraction of its size, which is what a slow link waits for.
//! Bodies under [`MIN_BYTES`] are sent as they are (a gzip header and a round of compression would not pay).

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Smallest body worth compressing.
pub const MIN_BYTES: usize = 1024;

/// Compression level of bodies made per request (zlib's default: most of the gain at a fraction of the cost).
pub const DYNAMIC_LEVEL: u32 = 6;

/// Compression level of the embedded assets, compressed once.
pub const ASSET_LEVEL: u32 = 9;

/// Whether the `Accept-Encoding` header accepts gzip: `gzip` (or its alias `x-gzip`) listed with a q-value above
/// zero, or not listed and `*` listed with a q-value above zero. Without the header, or with an entry whose q-value
/// is malformed (the entry is ignored), nothing but the identity is assumed.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(header) = accept_encoding else {
        return false;
    };
    let mut gzip: Option<u16> = None;
    let mut any: Option<u16> = None;
    for entry in header.split(',') {
        let mut parts = entry.split(';');
        let coding = parts.next().map(str::trim).unwrap_or_default();
        if coding.is_empty() {
            continue;
        }
        let q = parts
            .find_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim().eq_ignore_ascii_case("q").then(|| qvalue(value.trim()))
            })
            .unwrap_or(Some(1000));
        let Some(q) = q else {
            continue;
        };
        let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding == "*" {
            &mut any
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |seen| seen.max(q)));
    }
    gzip.or(any).is_some_and(|q| q > 0)
}

/// A q-value (`0`, `0.5`, `1.000` …) in thousandths; `None` when malformed.
fn qvalue(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let thousandths =
        fraction.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    let q = whole + thousandths;
    (q <= 1000).then_some(q)
}

/// `body` compressed with gzip at `level`, when it is at least [`MIN_BYTES`] long and the result is smaller.
pub fn gzip(body: &[u8], level: u32) -> Option<Vec<u8>> {
    if body.len() < MIN_BYTES {
        return None;
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 3), Compression::new(level));
    encoder.write_all(body).ok()?;
    let compressed = encoder.finish().ok()?;
    (compressed.len() < body.len()).then_some(compressed)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn gzip_is_negotiated_from_accept_encoding() {
        for (header, expected) in [
            (None, false),
            (Some(""), false),
            (Some("gzip"), true),
            (Some("GZip"), true),
            (Some("x-gzip"), true),
            (Some("gzip, deflate, br, zstd"), true),
            (Some("deflate, br"), false),
            (Some("identity"), false),
            (Some("gzip;q=0"), false),
            (Some("gzip; q=0.000"), false),
            (Some("gzip;Q=0.001"), true),
            (Some("gzip;q=0.5, br;q=1.0"), true),
            (Some("gzip;q=1."), true),
            (Some("*"), true),
            (Some("*;q=0"), false),
            (Some("*, gzip;q=0"), false),
            (Some("gzip;q=0, *"), false),
            (Some("br, *;q=0.1"), true),
            (Some("identity;q=1, *;q=0"), false),
            (Some("gzip;q=2"), false),
            (Some("gzip;q=0.0001"), false),
            (Some("gzip;q=abc"), false),
            (Some("gzip;q=-1"), false),
            (Some(" , ;q=1, gzip ; level=1"), true),
        ] {
            assert_eq!(accepts_gzip(header), expected, "{header:?}");
        }
    }

    #[test]
    fn compressed_bodies_decompress_to_the_original() {
        let body = "<li class=\"result\"><a href=\"/contacts/1\">Ada Lovelace</a></li>\n".repeat(100);
        for level in [DYNAMIC_LEVEL, ASSET_LEVEL] {
            let compressed = gzip(body.as_bytes(), level).expect("a repetitive page compresses");
            assert!(compressed.len() < body.len() / 10, "{} of {}", compressed.len(), body.len());
            let mut back = String::new();
            flate2::read::GzDecoder::new(compressed.as_slice()).read_to_string(&mut back).unwrap();
            assert_eq!(back, body);
        }
    }

    #[test]
    fn small_or_incompressible_bodies_are_left_alone() {
        assert_eq!(gzip(b"{\"total\":0,\"contacts\":[]}", DYNAMIC_LEVEL), None);
        assert_eq!(gzip(&[b'a'; MIN_BYTES - 1], DYNAMIC_LEVEL), None);
        assert!(gzip(&[b'a'; MIN_BYTES], DYNAMIC_LEVEL).is_some());
        // Bytes with no redundancy grow under gzip: they go as they are.
        let noise: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let compressed = gzip(&noise, DYNAMIC_LEVEL);
        assert!(compressed.is_none_or(|c| c.len() < noise.len()));
    }
}
