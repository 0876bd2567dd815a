//! Timestamps as SCIM writes them (`xsd:dateTime`, RFC 3339, UTC).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The current instant, RFC 3339 in UTC with millisecond precision.
pub fn now_rfc3339() -> String {
    format_rfc3339(OffsetDateTime::now_utc())
}

/// The current time in Unix seconds.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The current time in Unix milliseconds.
pub fn now_unix_millis() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Formats an instant as RFC 3339 in UTC with millisecond precision.
pub fn format_rfc3339(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let at = at.replace_nanosecond(at.millisecond() as u32 * 1_000_000).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

/// Parses an `xsd:dateTime` / RFC 3339 value.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let now = now_rfc3339();
        assert!(now.ends_with('Z'), "{now}");
        assert_eq!(parse_datetime(&now).map(format_rfc3339), Some(now));
        assert!(parse_datetime("yesterday").is_none());
    }
}
