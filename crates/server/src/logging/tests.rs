//! The lazy span fields write what the `fmt` layer alone writes, and format nothing for spans that log nothing.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tracing::field;
use tracing::span::{Attributes, Id};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use super::LazySpanFields;

/// Where a test's subscriber writes.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().clone()).unwrap()
    }
}

#[derive(Debug)]
struct Oops;

impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it broke")
    }
}

impl std::error::Error for Oops {}

/// Spans of every kind of value, recorded at creation and later, nested, quiet and not, with events in them.
fn scenario() {
    tracing::info!("Outside any span.");
    let request = tracing::error_span!(
        "request",
        request_id = "0f3c\"quoted\"\ttab",
        method = %"GET",
        path = "/prod/@connections/abc=",
        destination = field::Empty,
        connection_id = field::Empty,
    );
    request.record("destination", "management");
    let quiet = tracing::error_span!("quiet", n = 1u64, flag = true);
    quiet.record("n", 2u64);
    drop(quiet);
    {
        let _entered = request.enter();
        tracing::warn!(status = 410, "Gone.");
        // Recorded after the span was written: it goes straight to the fmt layer.
        request.record("connection_id", field::display("AbCdEfGhIjKlMnOp"));
        tracing::warn!("Again.");
        let inner = tracing::error_span!(
            "connection",
            kind = "api",
            signed = -7i64,
            big = 1u128 << 100,
            neg = -(1i128 << 100),
            ratio = 0.5f64,
            debug = ?vec!["a", "b"],
            api = field::Empty,
            stage = field::Empty,
        );
        inner.record("api", "switchboard");
        inner.record("api", "twice");
        inner.in_scope(|| tracing::error!(code = 1006u64, reason = "", "Connection closed."));
    }
    let failing =
        tracing::error_span!("failing", error = &Oops as &(dyn std::error::Error + 'static), after = field::Empty);
    failing.record("after", 3i64);
    failing.in_scope(|| tracing::warn!("Inside a span with an error."));
    let later_error = tracing::error_span!("later", first = "x", error = field::Empty);
    later_error.record("error", &Oops as &(dyn std::error::Error + 'static));
    later_error.in_scope(|| tracing::warn!("After an error was recorded."));
    let empty = tracing::error_span!("empty");
    empty.in_scope(|| tracing::info!(answer = 42, "In a span without fields."));
}

/// Runs the scenario with `layer` as the only layer of a registry.
fn run<L>(layer: L)
where
    L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), scenario);
}

#[test]
fn text_is_written_as_the_fmt_layer_writes_it() {
    for ansi in [false, true] {
        let (stock, lazy) = (Buffer::default(), Buffer::default());
        let writer = stock.clone();
        run(tracing_subscriber::fmt::layer().without_time().with_ansi(ansi).with_writer(move || writer.clone()));
        let writer = lazy.clone();
        run(LazySpanFields::new(
            tracing_subscriber::fmt::layer().without_time().with_ansi(ansi).with_writer(move || writer.clone()),
        ));
        let expected = stock.text();
        assert!(expected.contains("connection_id=AbCdEfGhIjKlMnOp") || ansi, "{expected}");
        assert!(expected.contains("it broke"), "{expected}");
        assert_eq!(lazy.text(), expected, "ansi: {ansi}");
    }
}

#[test]
fn json_is_written_as_the_fmt_layer_writes_it() {
    let (stock, lazy) = (Buffer::default(), Buffer::default());
    let writer = stock.clone();
    run(tracing_subscriber::fmt::layer().json().without_time().with_writer(move || writer.clone()));
    let writer = lazy.clone();
    run(LazySpanFields::new(
        tracing_subscriber::fmt::layer().json().without_time().with_writer(move || writer.clone()),
    ));
    let expected = stock.text();
    assert!(expected.contains(r#""connection_id":"AbCdEfGhIjKlMnOp""#), "{expected}");
    assert!(expected.contains(r#""api":"twice""#), "{expected}");
    assert_eq!(lazy.text(), expected);
}

/// Counts the spans the layer behind the lazy one is told about.
struct Counting(Arc<AtomicUsize>);

impl<S> Layer<S> for Counting
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn spans_that_log_nothing_are_never_formatted() {
    let told = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(LazySpanFields::new(Counting(told.clone())));
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..10u64 {
            let span = tracing::error_span!("request", i, destination = field::Empty);
            span.record("destination", "management");
            span.in_scope(|| tracing::trace_span!("inner", i).in_scope(|| {}));
        }
        assert_eq!(told.load(Ordering::SeqCst), 0, "no event, nothing handed over");
        let outer = tracing::error_span!("outer", a = 1);
        let inner = outer.in_scope(|| tracing::error_span!("inner", b = 2));
        inner.in_scope(|| tracing::info!("One."));
        assert_eq!(told.load(Ordering::SeqCst), 2, "the event's two spans, once each");
        inner.in_scope(|| tracing::info!("Two."));
        outer.in_scope(|| tracing::info!("Three."));
        assert_eq!(told.load(Ordering::SeqCst), 2);
    });
}
