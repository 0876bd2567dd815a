//! One JSON object per log line, in `tracing-subscriber`'s JSON layout, written straight into the line.
//!
//! The stock JSON formatter keeps a span's fields as JSON text and parses that text back into a map for every
//! event, and builds a `serde_json::Value` for every field: about a fifth of a SCIM read's CPU went to its one
//! request line. [`JsonLine`] writes the same object (`timestamp`, `level`, `fields`, `span` with its fields and
//! `name`) without either: span fields are kept as ready members ([`JsonMembers`]) and spliced in, and values are
//! escaped as they are formatted. The tests render events through both formatters and compare the objects.

use crate::json_text::{Escaped, write_string};
use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats a span's fields as JSON object members (`"a":1,"b":"x"`), ready to be spliced into a line.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonMembers;

impl<'writer> FormatFields<'writer> for JsonMembers {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = MemberWriter::new(&mut writer, false);
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let has_members = !current.fields.is_empty();
        let mut visitor = MemberWriter::new(&mut current.fields, has_members);
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each event as one line: `{"timestamp":…,"level":…,"fields":{…},"span":{…,"name":…}}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLine;

impl<S> FormatEvent<S, JsonMembers> for JsonLine
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonMembers>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str("{\"timestamp\":\"")?;
        write_timestamp(&mut writer, std::time::SystemTime::now())?;
        writer.write_str("\",\"level\":\"")?;
        writer.write_str(event.metadata().level().as_str())?;
        writer.write_str("\",\"fields\":{")?;
        let mut fields = MemberWriter::new(&mut writer, false);
        event.record(&mut fields);
        fields.result?;
        writer.write_char('}')?;
        let span = event.parent().and_then(|id| ctx.span(id)).or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            writer.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            if let Some(members) = extensions.get::<FormattedFields<JsonMembers>>().filter(|f| !f.fields.is_empty()) {
                writer.write_str(&members.fields)?;
                writer.write_char(',')?;
            }
            writer.write_str("\"name\":")?;
            write_string(&mut writer, span.metadata().name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

/// Writes `at` as `tracing-subscriber`'s `SystemTime` does: RFC 3339 in UTC with microseconds
/// (`2026-12-06T10:01:02.123456Z`). The date and time of day are formatted once per second and thread.
fn write_timestamp(out: &mut impl fmt::Write, at: std::time::SystemTime) -> fmt::Result {
    thread_local! {
        static SECOND: std::cell::Cell<Option<(u64, [u8; 19])>> = const { std::cell::Cell::new(None) };
    }
    let since_epoch = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs();
    let date_time = match SECOND.get() {
        Some((cached, text)) if cached == second => text,
        _ => {
            let text = date_and_time(second);
            SECOND.set(Some((second, text)));
            text
        }
    };
    let mut fraction = *b".000000Z";
    let mut micros = since_epoch.subsec_micros();
    for digit in fraction[1..7].iter_mut().rev() {
        *digit = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    out.write_str(std::str::from_utf8(&date_time).map_err(|_| fmt::Error)?)?;
    out.write_str(std::str::from_utf8(&fraction).map_err(|_| fmt::Error)?)
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix second, in UTC (years past 9999 are not written).
fn date_and_time(second: u64) -> [u8; 19] {
    let at = i64::try_from(second)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut text = *b"0000-00-00T00:00:00";
    let mut put = |range: std::ops::Range<usize>, mut value: u32| {
        for digit in text[range].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0..4, u32::try_from(at.year()).unwrap_or(0));
    put(5..7, u32::from(u8::from(at.month())));
    put(8..10, u32::from(at.day()));
    put(11..13, u32::from(at.hour()));
    put(14..16, u32::from(at.minute()));
    put(17..19, u32::from(at.second()));
    text
}

/// A [`Visit`] that writes each field as a JSON member.
struct MemberWriter<'a, W: fmt::Write> {
    out: &'a mut W,
    has_members: bool,
    result: fmt::Result,
}

impl<'a, W: fmt::Write> MemberWriter<'a, W> {
    fn new(out: &'a mut W, has_members: bool) -> Self {
        Self { out, has_members, result: Ok(()) }
    }

    /// Writes `"name":` (a leading comma after the first member) and then the value.
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.result = (|| {
            if self.has_members {
                self.out.write_char(',')?;
            }
            write_string(self.out, name)?;
            self.out.write_char(':')?;
            value(self.out)
        })();
        self.has_members = true;
    }
}

impl<W: fmt::Write> Visit for MemberWriter<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // As serde_json writes a float: shortest round-trip form, `null` when not finite.
        self.member(field, |out| if value.is_finite() { write!(out, "{value:?}") } else { out.write_str("null") });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| write_string(out, value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value}")?;
            out.write_char('"')
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::io;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().map_err(|_| io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<Value> {
            let bytes = self.0.lock().unwrap().clone();
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.ends_with('\n'), "every event ends its line: {text:?}");
            text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
        }
    }

    #[derive(Debug)]
    struct Failure;
    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("table \"users\" is locked\n(retry)")
        }
    }
    impl std::error::Error for Failure {}

    /// The events the services log: a request span, fields of every kind, a field recorded later, no span.
    fn emit(text: &str) {
        let span = tracing::info_span!("request", request_id = %"3f2a-77", late = tracing::field::Empty);
        span.in_scope(|| {
            tracing::info!(method = %"GET", path = text, status = 200u16, elapsed_us = 31u64, "scim request");
            tracing::warn!(
                error = &Failure as &(dyn std::error::Error + 'static),
                delta = -4i64,
                ratio = 0.25,
                ok = true,
                "odd {}",
                text
            );
        });
        span.record("late", 7u64);
        span.in_scope(|| {
            tracing::error!(r#type = "late field", digest = &b"\x00\x7f\xff"[..], empty = &b""[..], "after record")
        });
        tracing::info!(text, "outside any span");
    }

    fn ours(text: &str) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonMembers)
            .event_format(JsonLine)
            .with_writer(captured.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || emit(text));
        captured.lines()
    }

    fn stock(text: &str) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .with_writer(captured.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || emit(text));
        captured.lines()
    }

    fn without_timestamps(mut lines: Vec<Value>) -> Vec<Value> {
        for line in &mut lines {
            let stamp = line.as_object_mut().and_then(|o| o.remove("timestamp"));
            let stamp = stamp.as_ref().and_then(Value::as_str).unwrap_or_default().to_string();
            assert!(
                time::OffsetDateTime::parse(&stamp, &time::format_description::well_known::Rfc3339).is_ok(),
                "{stamp}"
            );
        }
        lines
    }

    #[test]
    fn timestamps_are_written_as_the_stock_formatter_writes_them() {
        use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
        // Seconds of every kind (epoch, leap day, year ends, the far future) and microseconds at both ends.
        let instants = [0, 951_782_400, 1_709_208_000, 1_798_761_599, 4_102_444_800, 253_402_300_799]
            .into_iter()
            .flat_map(|s| [0, 1, 999_999, 123_456].map(move |us| std::time::Duration::new(s, us * 1_000)));
        for since_epoch in instants {
            let at = std::time::UNIX_EPOCH + since_epoch;
            let mut ours = String::new();
            write_timestamp(&mut ours, at).unwrap();
            let expected = time::OffsetDateTime::UNIX_EPOCH + since_epoch;
            let expected = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                expected.year(),
                u8::from(expected.month()),
                expected.day(),
                expected.hour(),
                expected.minute(),
                expected.second(),
                expected.microsecond()
            );
            assert_eq!(ours, expected);
            // The cached second gives the same text.
            let mut again = String::new();
            write_timestamp(&mut again, at).unwrap();
            assert_eq!(again, ours);
        }
        // And the stock formatter writes the same shape for now.
        let mut stock = String::new();
        SystemTime.format_time(&mut Writer::new(&mut stock)).unwrap();
        let mut ours = String::new();
        write_timestamp(&mut ours, std::time::SystemTime::now()).unwrap();
        assert_eq!((ours.len(), &ours[..4], ours.as_bytes()[19]), (stock.len(), &stock[..4], stock.as_bytes()[19]));
    }

    #[test]
    fn lines_are_the_objects_the_stock_json_formatter_writes() {
        let text = "/scim/v2/Users/\"x\"\\\u{1}\u{7f}é\n";
        let ours = without_timestamps(ours(text));
        assert_eq!(ours.len(), 4);
        assert_eq!(ours, without_timestamps(stock(text)));
        assert_eq!(ours[0]["span"]["request_id"], "3f2a-77");
        assert_eq!(ours[2]["span"]["late"], 7);
        assert_eq!(ours[2]["fields"]["type"], "late field");
        assert!(ours[3].get("span").is_none());
    }
}
