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
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
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
        SystemTime.format_time(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\",\"fields\":{{", event.metadata().level())?;
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
