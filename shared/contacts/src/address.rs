//! Postal addresses: the SCIM address components, laid out in lines the way the address's country writes them.

/// A postal address (the SCIM `addresses` sub-attributes). Components are trimmed; blank ones are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// `streetAddress`; may span several lines.
    pub street_address: Option<String>,
    /// `locality` (city or town).
    pub locality: Option<String>,
    /// `region` (state, province, prefecture).
    pub region: Option<String>,
    /// `postalCode`.
    pub postal_code: Option<String>,
    /// `country`: an ISO 3166-1 alpha-2 code as Okta sends it (any other text is kept as is).
    pub country: Option<String>,
    /// `formatted`: the full address as one text, used only when there are no components.
    pub formatted: Option<String>,
}

impl Address {
    /// Whether no component (nor `formatted`) has a value.
    pub fn is_empty(&self) -> bool {
        [&self.street_address, &self.locality, &self.region, &self.postal_code, &self.country, &self.formatted]
            .iter()
            .all(|c| non_blank(c).is_none())
    }

    /// The ISO 3166-1 alpha-2 code (upper case) when `country` is two ASCII letters; `UK` is read as `GB`.
    pub fn country_code(&self) -> Option<String> {
        let raw = non_blank(&self.country)?;
        if raw.len() != 2 || !raw.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        let code = raw.to_ascii_uppercase();
        Some(if code == "UK" { "GB".to_string() } else { code })
    }

    /// The country to show: its English name when the code is known, else `country` as stored.
    pub fn country_display(&self) -> Option<&str> {
        let known = self.country_code().and_then(|code| country_name(&code));
        known.or_else(|| non_blank(&self.country))
    }
}

/// The English short name of a country from its ISO 3166-1 alpha-2 code (case-insensitive), for common codes.
pub fn country_name(code: &str) -> Option<&'static str> {
    let code = code.trim();
    COUNTRIES.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map(|(_, name)| *name)
}

static COUNTRIES: &[(&str, &str)] = &[
    ("AE", "United Arab Emirates"),
    ("AR", "Argentina"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("BE", "Belgium"),
    ("BG", "Bulgaria"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("CH", "Switzerland"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DK", "Denmark"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("ES", "Spain"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("GR", "Greece"),
    ("HK", "Hong Kong"),
    ("HR", "Croatia"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IN", "India"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("KR", "South Korea"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("NG", "Nigeria"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NZ", "New Zealand"),
    ("PH", "Philippines"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("SA", "Saudi Arabia"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SI", "Slovenia"),
    ("SK", "Slovakia"),
    ("TH", "Thailand"),
    ("TR", "Türkiye"),
    ("TW", "Taiwan"),
    ("UA", "Ukraine"),
    ("US", "United States"),
    ("VN", "Vietnam"),
    ("ZA", "South Africa"),
];

/// How a country orders the components of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// US, CA: street; `locality, region postalCode`; country.
    NorthAmerica,
    /// AU: street; `locality region postalCode`; country.
    Australia,
    /// GB, IE: street; locality; region; postalCode; country.
    British,
    /// Most of continental Europe: street; `postalCode locality`; region; country.
    Continental,
    /// JP in Japanese script: postalCode; `region locality`; street; country (largest to smallest).
    Japan,
    /// Anything else: street; locality; region; postalCode; country.
    Default,
}

fn layout(address: &Address) -> Layout {
    const CONTINENTAL: &[&str] = &[
        "AT", "BE", "BG", "CH", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IS", "IT", "LI", "LT",
        "LU", "LV", "MC", "NL", "NO", "PL", "PT", "RO", "RS", "SE", "SI", "SK",
    ];
    let Some(code) = address.country_code() else { return Layout::Default };
    match code.as_str() {
        "US" | "CA" => Layout::NorthAmerica,
        "AU" => Layout::Australia,
        "GB" | "IE" => Layout::British,
        // Addresses written in Latin script follow the Western order, as Japan Post accepts for mail from abroad.
        "JP" if components(address).iter().any(|c| c.is_some_and(|c| !c.is_ascii())) => Layout::Japan,
        "JP" => Layout::NorthAmerica,
        c if CONTINENTAL.contains(&c) => Layout::Continental,
        _ => Layout::Default,
    }
}

fn components(address: &Address) -> [Option<&str>; 4] {
    [
        non_blank(&address.street_address),
        non_blank(&address.locality),
        non_blank(&address.region),
        non_blank(&address.postal_code),
    ]
}

/// The address in lines for its country (see the layouts below); blank components and lines are left out.
///
/// - US, CA (and JP in Latin script): street; `locality, region postalCode`; country.
/// - AU: street; `locality region postalCode`; country.
/// - GB, IE: street; locality; region; postalCode; country.
/// - Continental Europe (DE, NL, FR, ...): street; `postalCode locality`; region; country.
/// - JP in Japanese script: postalCode; `region locality`; street; country.
/// - Any other country: street; locality; region; postalCode; country.
///
/// A multi-line street address gives one line per line. The country is its English name when the code is known
/// ([`country_name`]), else as stored. Without any component, `formatted` is split into lines.
pub fn format_address(address: &Address) -> Vec<String> {
    let [street, locality, region, postal] = components(address);
    let country = address.country_display();
    if [street, locality, region, postal].iter().all(Option::is_none) {
        let formatted = non_blank(&address.formatted).map(split_lines).unwrap_or_default();
        return if formatted.is_empty() { country.into_iter().map(str::to_string).collect() } else { formatted };
    }
    let street = street.map(split_lines).unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    let mut push = |line: Option<String>| lines.extend(line.filter(|l| !l.is_empty()));
    let own = |part: Option<&str>| part.map(str::to_string);
    match layout(address) {
        Layout::NorthAmerica => {
            street.into_iter().for_each(|l| push(Some(l)));
            push(join(", ", [locality.map(str::to_string), join(" ", [own(region), own(postal)])]));
        }
        Layout::Australia => {
            street.into_iter().for_each(|l| push(Some(l)));
            push(join(" ", [own(locality), own(region), own(postal)]));
        }
        Layout::British | Layout::Default => {
            street.into_iter().for_each(|l| push(Some(l)));
            [locality, region, postal].into_iter().for_each(|p| push(own(p)));
        }
        Layout::Continental => {
            street.into_iter().for_each(|l| push(Some(l)));
            push(join(" ", [own(postal), own(locality)]));
            push(own(region));
        }
        Layout::Japan => {
            push(own(postal));
            push(join_japanese(region, locality));
            street.into_iter().for_each(|l| push(Some(l)));
        }
    }
    push(own(country));
    lines
}

fn non_blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn split_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn join<const N: usize>(separator: &str, parts: [Option<String>; N]) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().flatten().filter(|p| !p.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(separator))
}

/// Region and locality; written together without a space when both are in Japanese script (`東京都千代田区`).
fn join_japanese(region: Option<&str>, locality: Option<&str>) -> Option<String> {
    let separator = match (region, locality) {
        (Some(r), Some(l)) if !r.is_ascii() && !l.is_ascii() => "",
        _ => " ",
    };
    join(separator, [region.map(str::to_string), locality.map(str::to_string)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(street: &str, locality: &str, region: &str, postal: &str, country: &str) -> Address {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Address {
            street_address: some(street),
            locality: some(locality),
            region: some(region),
            postal_code: some(postal),
            country: some(country),
            formatted: None,
        }
    }

    #[test]
    fn united_states_and_canada() {
        let us = address("1600 Amphitheatre Pkwy\nBuilding 40", "Mountain View", "CA", "94043", "US");
        assert_eq!(
            format_address(&us),
            ["1600 Amphitheatre Pkwy", "Building 40", "Mountain View, CA 94043", "United States"]
        );
        let ca = address("290 Bremner Blvd", "Toronto", "ON", "M5V 3L9", "ca");
        assert_eq!(format_address(&ca), ["290 Bremner Blvd", "Toronto, ON M5V 3L9", "Canada"]);
        let partial = address("", "", "NY", "10001", "US");
        assert_eq!(format_address(&partial), ["NY 10001", "United States"]);
    }

    #[test]
    fn united_kingdom() {
        let gb = address("10 Downing Street", "London", "Greater London", "SW1A 2AA", "GB");
        assert_eq!(
            format_address(&gb),
            ["10 Downing Street", "London", "Greater London", "SW1A 2AA", "United Kingdom"]
        );
        let uk = address("1 Main St", "Leeds", "", "LS1 1AA", "UK");
        assert_eq!(format_address(&uk), ["1 Main St", "Leeds", "LS1 1AA", "United Kingdom"]);
    }

    #[test]
    fn continental_europe() {
        let de = address("Unter den Linden 77", "Berlin", "", "10117", "DE");
        assert_eq!(format_address(&de), ["Unter den Linden 77", "10117 Berlin", "Germany"]);
        let nl = address("Damrak 1", "Amsterdam", "", "1012 LG", "NL");
        assert_eq!(format_address(&nl), ["Damrak 1", "1012 LG Amsterdam", "Netherlands"]);
        let fr = address("55 Rue du Faubourg Saint-Honoré", "Paris", "Île-de-France", "75008", "fr");
        assert_eq!(format_address(&fr), ["55 Rue du Faubourg Saint-Honoré", "75008 Paris", "Île-de-France", "France"]);
    }

    #[test]
    fn japan() {
        let jp = address("千代田1-1", "千代田区", "東京都", "100-8111", "JP");
        assert_eq!(format_address(&jp), ["100-8111", "東京都千代田区", "千代田1-1", "Japan"]);
        let latin = address("1-1 Chiyoda", "Chiyoda-ku", "Tokyo", "100-8111", "JP");
        assert_eq!(format_address(&latin), ["1-1 Chiyoda", "Chiyoda-ku, Tokyo 100-8111", "Japan"]);
    }

    #[test]
    fn australia_and_default() {
        let au = address("1 Macquarie St", "Sydney", "NSW", "2000", "AU");
        assert_eq!(format_address(&au), ["1 Macquarie St", "Sydney NSW 2000", "Australia"]);
        let sg = address("1 Raffles Pl", "Singapore", "", "048616", "SG");
        assert_eq!(format_address(&sg), ["1 Raffles Pl", "Singapore", "048616", "Singapore"]);
        let none = address("Street 1", "Town", "Region", "123", "");
        assert_eq!(format_address(&none), ["Street 1", "Town", "Region", "123"]);
    }

    #[test]
    fn unknown_country_codes_and_names_are_shown_as_stored() {
        assert_eq!(format_address(&address("", "Reykjavík", "", "", "XQ")), ["Reykjavík", "XQ"]);
        assert_eq!(
            format_address(&address("", "Paris", "", "", "République française")),
            ["Paris", "République française"]
        );
        assert_eq!(country_name("de"), Some("Germany"));
        assert_eq!(country_name("ZZ"), None);
    }

    #[test]
    fn formatted_only_when_no_components() {
        let formatted = Address { formatted: Some("1 Main St\r\n\nSpringfield".into()), ..Address::default() };
        assert_eq!(format_address(&formatted), ["1 Main St", "Springfield"]);
        let both = Address { formatted: Some("ignored".into()), ..address("", "Berlin", "", "", "DE") };
        assert_eq!(format_address(&both), ["Berlin", "Germany"]);
        assert_eq!(format_address(&Address::default()), Vec::<String>::new());
        assert!(Address::default().is_empty());
        assert_eq!(format_address(&address("", "", "", "", "US")), ["United States"]);
    }
}
