//! Progress within a run of the benchmark: the connections open of their target, the messages sent and the time
//! elapsed, as a line on stderr at most once every [`EVERY`] while they change (`--quiet`: no line).

use std::cell::{Cell, RefCell};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The shortest time between two lines.
pub const EVERY: Duration = Duration::from_secs(1);

/// What a worker says of its connections while it opens them (before its `Ready`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    pub opened: u64,
    pub failed: u64,
}

/// Where progress lines go.
pub type Out = Box<dyn Fn(&str)>;

/// The counters of the measurement under way, and where their lines go.
pub struct Live {
    out: Option<Out>,
    label: RefCell<String>,
    target: Cell<u64>,
    opened: Cell<u64>,
    sent: Cell<u64>,
    started: Cell<Instant>,
    printed: Cell<Option<Instant>>,
}

impl Live {
    /// Lines to stderr, or none when `quiet`.
    pub fn stderr(quiet: bool) -> Live {
        Live::to((!quiet).then(|| Box::new(|line: &str| eprintln!("{line}")) as Out))
    }

    /// Lines to `out`, or none.
    pub fn to(out: Option<Out>) -> Live {
        Live {
            out,
            label: RefCell::default(),
            target: Cell::new(0),
            opened: Cell::new(0),
            sent: Cell::new(0),
            started: Cell::new(Instant::now()),
            printed: Cell::new(None),
        }
    }

    /// A measurement starts: `label` names it, `target` is the connections it opens (0: none).
    pub fn begin(&self, label: &str, target: u64) {
        *self.label.borrow_mut() = label.to_owned();
        self.target.set(target);
        self.opened.set(0);
        self.sent.set(0);
        self.started.set(Instant::now());
        self.printed.set(None);
    }

    /// The connections open now.
    pub fn opened(&self, n: u64) {
        self.opened.set(n);
        self.tick();
    }

    /// `n` more messages (or calls) sent.
    pub fn sent(&self, n: u64) {
        self.sent.set(self.sent.get() + n);
        self.tick();
    }

    /// The line of the counters now.
    pub fn line(&self) -> String {
        let elapsed = self.started.get().elapsed().as_secs_f64();
        let mut line = format!("  {}: ", self.label.borrow());
        if self.target.get() > 0 {
            line.push_str(&format!("{}/{} connections open, ", self.opened.get(), self.target.get()));
        }
        line.push_str(&format!("{} messages sent, {elapsed:.1} s", self.sent.get()));
        line
    }

    fn tick(&self) {
        let Some(out) = &self.out else { return };
        let now = Instant::now();
        if self.printed.get().is_none_or(|last| now.duration_since(last) >= EVERY) {
            self.printed.set(Some(now));
            out(&self.line());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::{EVERY, Live};

    #[tokio::test(start_paused = true)]
    async fn lines_say_the_counters_at_most_once_a_second_and_quiet_says_nothing() {
        let lines = Rc::new(RefCell::new(Vec::<String>::new()));
        let kept = lines.clone();
        let live = Live::to(Some(Box::new(move |line: &str| kept.borrow_mut().push(line.to_owned()))));
        live.begin("idle n=100", 100);
        live.opened(10);
        live.opened(20);
        live.sent(5);
        tokio::time::advance(EVERY / 2).await;
        live.opened(30);
        tokio::time::advance(EVERY / 2).await;
        live.opened(40);
        assert_eq!(
            *lines.borrow(),
            [
                "  idle n=100: 10/100 connections open, 0 messages sent, 0.0 s",
                "  idle n=100: 40/100 connections open, 5 messages sent, 1.0 s"
            ]
        );
        live.begin("post", 0);
        live.sent(3);
        assert_eq!(
            lines.borrow().last().unwrap(),
            "  post: 3 messages sent, 0.0 s",
            "a new measurement starts at zero"
        );

        let quiet = Live::stderr(true);
        quiet.begin("idle", 10);
        quiet.opened(1);
        assert_eq!(quiet.line(), "  idle: 1/10 connections open, 0 messages sent, 0.0 s", "counted, not printed");
    }
}
