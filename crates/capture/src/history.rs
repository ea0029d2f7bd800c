//! The rates' recent past: a ring of samples of the capture's [`Totals`] and the live connection count, taken at a
//! fixed interval by the server, so that a console page shows the last minutes as soon as it opens.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;

use crate::Totals;

/// How often the server takes a sample.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// Samples kept: five minutes' worth at [`SAMPLE_EVERY`].
pub const KEPT_SAMPLES: usize = 150;

/// The totals and the live connections at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub connections: usize,
    pub totals: Totals,
}

/// At most `capacity` samples, oldest first; a new one pushes out the oldest.
#[derive(Debug)]
pub struct History {
    samples: Mutex<VecDeque<Sample>>,
    capacity: usize,
}

impl History {
    pub fn new(capacity: usize) -> History {
        History { samples: Mutex::new(VecDeque::with_capacity(capacity)), capacity: capacity.max(1) }
    }

    pub fn push(&self, sample: Sample) {
        let mut samples = self.samples.lock();
        if samples.len() >= self.capacity {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// Every kept sample, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().iter().copied().collect()
    }
}

impl Default for History {
    fn default() -> History {
        History::new(KEPT_SAMPLES)
    }
}
