//! The server's log subscriber: `tracing_subscriber`'s `fmt` output (text or JSON, filtered by `SWITCHBOARD_LOG`),
//! with span fields formatted only when an event inside the span is written.
//!
//! Every request and every session runs in a span whose fields name it (ARCHITECTURE.md, "Logging"). The `fmt`
//! layer formats a span's fields into a string when the span is created, and again on every `record`; most requests
//! and sessions log nothing, so that work was almost always thrown away. [`LazySpanFields`] stands in front of the
//! `fmt` layer: it copies the values a span is given (strings as bytes, numbers as numbers, `Display`/`Debug` values
//! as their text) into one small buffer, and hands them to the `fmt` layer — as if the span had just been created —
//! only when an event in the span's scope reaches it. What is written is byte for byte what the `fmt` layer alone
//! writes (held by this file's tests, for the text format with and without colours, and for JSON).

use std::fmt::Write as _;

use tracing::field::{DisplayValue, Field, FieldSet, Value, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, SpanRef};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Installs the process's subscriber: `SWITCHBOARD_LOG` (default `info`) filters, `format` shapes, stderr receives.
pub(crate) fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry();
    match format {
        LogFormat::Text => registry.with(LazySpanFields::new(fmt)).with(filter).init(),
        LogFormat::Json => registry.with(LazySpanFields::new(fmt.json())).with(filter).init(),
    }
}

/// A layer in front of a `fmt` layer that defers the formatting of span fields to the first event written in the
/// span; every other call passes through.
#[derive(Debug)]
pub(crate) struct LazySpanFields<L> {
    inner: L,
}

impl<L> LazySpanFields<L> {
    pub(crate) fn new(inner: L) -> LazySpanFields<L> {
        LazySpanFields { inner }
    }
}

/// A span's values as recorded, in order, until they are handed to the inner layer.
#[derive(Debug, Default)]
struct Captured {
    /// Items: the field's index, a tag, then the value (see [`Tag`]).
    bytes: Vec<u8>,
    /// Set once the inner layer has the values: later records go straight to it.
    handed_over: bool,
}

/// How a captured value is encoded after its field's index.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Tag {
    /// A string: its length (u32, little-endian), then its bytes; replayed as the `&str` it was.
    Str,
    /// The text a `Debug` or `Display` value wrote: encoded as [`Tag::Str`]; replayed as a value that writes it.
    Text,
    I64,
    U64,
    I128,
    U128,
    F64,
    Bool,
}

impl Tag {
    fn of(byte: u8) -> Option<Tag> {
        [Tag::Str, Tag::Text, Tag::I64, Tag::U64, Tag::I128, Tag::U128, Tag::F64, Tag::Bool]
            .get(usize::from(byte))
            .copied()
    }
}

/// Records values into a [`Captured`]; an error value (whose sources the `fmt` layer prints its own way) is not
/// captured but flagged, and the caller hands the original values over instead.
struct Capture<'a> {
    bytes: &'a mut Vec<u8>,
    has_error: bool,
}

impl Capture<'_> {
    fn head(&mut self, field: &Field, tag: Tag) {
        // A span has at most 32 fields.
        self.bytes.push(u8::try_from(field.index()).unwrap_or(u8::MAX));
        self.bytes.push(tag as u8);
    }

    fn text(&mut self, field: &Field, tag: Tag, write: impl FnOnce(&mut Vec<u8>)) {
        self.head(field, tag);
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&[0; 4]);
        write(self.bytes);
        let len = u32::try_from(self.bytes.len() - at - 4).unwrap_or(u32::MAX);
        self.bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
}

/// `fmt::Write` into a byte vector (formatted text is UTF-8).
struct Utf8Sink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8Sink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Visit for Capture<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, Tag::Str, |bytes| bytes.extend_from_slice(value.as_bytes()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.text(field, Tag::Text, |bytes| {
            let _ = write!(Utf8Sink(bytes), "{value:?}");
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.head(field, Tag::I64);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.head(field, Tag::U64);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.head(field, Tag::I128);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.head(field, Tag::U128);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.head(field, Tag::F64);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.head(field, Tag::Bool);
        self.bytes.push(u8::from(value));
    }

    fn record_error(&mut self, _field: &Field, _value: &(dyn std::error::Error + 'static)) {
        self.has_error = true;
    }
}

/// A captured value, ready to be recorded again.
enum Replay<'a> {
    Str(&'a str),
    Text(DisplayValue<&'a str>),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    Bool(bool),
}

impl Replay<'_> {
    fn value(&self) -> &dyn Value {
        match self {
            Replay::Str(v) => v,
            Replay::Text(v) => v,
            Replay::I64(v) => v,
            Replay::U64(v) => v,
            Replay::I128(v) => v,
            Replay::U128(v) => v,
            Replay::F64(v) => v,
            Replay::Bool(v) => v,
        }
    }
}

/// The captured items, each with its field; stops at anything it cannot read (it wrote it, so nothing).
fn decode<'a>(fields: &FieldSet, mut bytes: &'a [u8]) -> Vec<(Field, Replay<'a>)> {
    fn take<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
        let (head, rest) = bytes.split_first_chunk::<N>()?;
        *bytes = rest;
        Some(*head)
    }
    let mut items = Vec::new();
    while let Some([index, tag]) = take::<2>(&mut bytes) {
        let (Some(field), Some(tag)) = (fields.iter().nth(usize::from(index)), Tag::of(tag)) else { break };
        let value = match tag {
            Tag::Str | Tag::Text => {
                let Some(len) = take::<4>(&mut bytes).map(u32::from_le_bytes) else { break };
                let Some((text, rest)) = bytes.split_at_checked(len as usize) else { break };
                bytes = rest;
                let Ok(text) = std::str::from_utf8(text) else { break };
                match tag {
                    Tag::Str => Replay::Str(text),
                    _ => Replay::Text(tracing::field::display(text)),
                }
            }
            Tag::I64 => match take::<8>(&mut bytes) {
                Some(b) => Replay::I64(i64::from_le_bytes(b)),
                None => break,
            },
            Tag::U64 => match take::<8>(&mut bytes) {
                Some(b) => Replay::U64(u64::from_le_bytes(b)),
                None => break,
            },
            Tag::I128 => match take::<16>(&mut bytes) {
                Some(b) => Replay::I128(i128::from_le_bytes(b)),
                None => break,
            },
            Tag::U128 => match take::<16>(&mut bytes) {
                Some(b) => Replay::U128(u128::from_le_bytes(b)),
                None => break,
            },
            Tag::F64 => match take::<8>(&mut bytes) {
                Some(b) => Replay::F64(f64::from_le_bytes(b)),
                None => break,
            },
            Tag::Bool => match take::<1>(&mut bytes) {
                Some([b]) => Replay::Bool(b != 0),
                None => break,
            },
        };
        items.push((field, value));
    }
    items
}

/// The most values one `ValueSet` carries (a span has at most 32 fields; records may repeat one).
const BATCH: usize = 32;

impl<L> LazySpanFields<L> {
    /// Hands a span's captured values to the inner layer — as its creation, then records — unless it has them.
    fn hand_over<S>(&self, span: &SpanRef<'_, S>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        L: Layer<S>,
    {
        let bytes = {
            let mut extensions = span.extensions_mut();
            match extensions.get_mut::<Captured>() {
                Some(captured) if !captured.handed_over => {
                    captured.handed_over = true;
                    std::mem::take(&mut captured.bytes)
                }
                _ => return,
            }
        };
        let metadata: &'static Metadata<'static> = span.metadata();
        let fields = metadata.fields();
        let items = decode(fields, &bytes);
        let mut batches = items.chunks(BATCH);
        let first = batches.next().unwrap_or_default();
        self.replay(fields, first, |values| {
            self.inner.on_new_span(&Attributes::new(metadata, values), &span.id(), ctx.clone())
        });
        for batch in batches {
            self.replay(fields, batch, |values| self.inner.on_record(&span.id(), &Record::new(values), ctx.clone()));
        }
    }

    fn replay(
        &self,
        fields: &FieldSet,
        items: &[(Field, Replay<'_>)],
        call: impl FnOnce(&tracing::field::ValueSet<'_>),
    ) {
        let Some((pad, _)) = items.first() else {
            call(&fields.value_set::<[(&Field, Option<&dyn Value>); 0]>(&[]));
            return;
        };
        let mut values: [(&Field, Option<&dyn Value>); BATCH] = [(pad, None); BATCH];
        for (slot, (field, value)) in values.iter_mut().zip(items) {
            *slot = (field, Some(value.value()));
        }
        call(&fields.value_set(&values));
    }
}

impl<S, L> Layer<S> for LazySpanFields<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut captured = Captured { bytes: Vec::with_capacity(64), handed_over: false };
        let mut capture = Capture { bytes: &mut captured.bytes, has_error: false };
        attrs.record(&mut capture);
        if capture.has_error {
            drop(span);
            self.inner.on_new_span(attrs, id, ctx);
            return;
        }
        span.extensions_mut().insert(captured);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        {
            let mut extensions = span.extensions_mut();
            if let Some(captured) = extensions.get_mut::<Captured>().filter(|c| !c.handed_over) {
                let at = captured.bytes.len();
                let mut capture = Capture { bytes: &mut captured.bytes, has_error: false };
                values.record(&mut capture);
                if !capture.has_error {
                    return;
                }
                captured.bytes.truncate(at);
                drop(extensions);
                self.hand_over(&span, &ctx);
            }
        }
        drop(span);
        self.inner.on_record(id, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                self.hand_over(&span, &ctx);
            }
        }
        self.inner.on_event(event, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }
}

#[cfg(test)]
mod tests;
