//! The script and the stylesheet, embedded in the binary and served under names that carry their content hash
//! (`app.3f2a….js`): immutable, cached for a year, and a new build's pages name new files. No third-party request
//! is ever made at run time.

use std::sync::{LazyLock, OnceLock};

use sha2::{Digest, Sha256};

use crate::encoding;

/// An embedded file.
#[derive(Debug, PartialEq, Eq)]
pub struct Asset {
    /// The name it is served under: `stem.<12 hex digits of its SHA-256>.ext`.
    pub name: String,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
    /// The bytes compressed with gzip, made on first use (`None`: not worth it).
    gzipped: OnceLock<Option<Vec<u8>>>,
}

impl Asset {
    /// The bytes compressed with gzip, compressed once (the asset never changes), or `None` when that would not
    /// make them smaller.
    pub fn gzipped(&self) -> Option<&[u8]> {
        self.gzipped.get_or_init(|| encoding::gzip(self.body, encoding::ASSET_LEVEL)).as_deref()
    }
}

const SCRIPT: &[u8] = include_bytes!("../assets/app.js");
const STYLES: &[u8] = include_bytes!("../assets/app.css");

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        asset("app", "js", "text/javascript; charset=utf-8", SCRIPT),
        asset("app", "css", "text/css; charset=utf-8", STYLES),
    ]
});

fn asset(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
    let digest = Sha256::digest(body);
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Asset { name: format!("{stem}.{hash}.{ext}"), content_type, body, gzipped: OnceLock::new() }
}

/// The asset served as `name`.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The URL path of the script.
pub fn script_path() -> String {
    format!("/assets/{}", ASSETS[0].name)
}

/// The URL path of the stylesheet.
pub fn styles_path() -> String {
    format!("/assets/{}", ASSETS[1].name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let script = script_path();
        assert!(script.starts_with("/assets/app.") && script.ends_with(".js"), "{script}");
        let name = script.trim_start_matches("/assets/");
        assert_eq!(find(name).map(|a| a.body), Some(SCRIPT));
        assert_eq!(find("app.js"), None, "only hashed names are served");
        assert_eq!(
            find(styles_path().trim_start_matches("/assets/")).map(|a| a.content_type),
            Some("text/css; charset=utf-8")
        );
    }

    #[test]
    fn assets_are_compressed_once() {
        use std::io::Read as _;
        for asset in ASSETS.iter() {
            let gzipped = asset.gzipped().expect("the script and the stylesheet compress");
            assert!(std::ptr::eq(gzipped, asset.gzipped().unwrap_or_default()), "compressed again");
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(gzipped).read_to_end(&mut back).unwrap();
            assert_eq!(back, asset.body, "{}", asset.name);
        }
    }
}
