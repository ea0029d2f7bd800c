//! The control plane's configuration: identity (region, account), quotas, optional rate limits and limits
//! on requests.

use std::collections::BTreeMap;

use crate::operation::Operation;

/// Tags a resource may carry (model `Tags` max 50).
pub const MAX_TAGS: usize = aws_models::ivschat::shapes::TAGS.max_len();

/// Bytes of keys and values the attributes of a chat token, an event or a message may hold ("1 KB total": the
/// model says so in words, not as a constraint).
pub const MAX_ATTRIBUTE_BYTES: usize = 1024;

/// Configuration of a [`crate::ControlPlane`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Region in every ARN (`arn:aws:ivschat:{region}:…`). Default `us-east-1`.
    pub region: String,
    /// Account id in every ARN. Default `123456789012`.
    pub account_id: String,
    pub quotas: Quotas,
    /// Per-operation request rates; none by default.
    pub rate_limits: RateLimits,
    /// HMAC key that signs pagination tokens. Default: 32 random bytes per process, so tokens do not
    /// survive a restart; set a fixed secret to keep them valid across restarts and replicas.
    pub pagination_key: Vec<u8>,
    /// Largest request body accepted, in bytes. Default 256 KiB.
    pub max_body_bytes: usize,
    /// Whether members the model does not define are a ValidationException (default) or ignored.
    pub reject_unknown_fields: bool,
}

impl Config {
    /// Defaults for the given identity.
    pub fn new(region: impl Into<String>, account_id: impl Into<String>) -> Config {
        Config {
            region: region.into(),
            account_id: account_id.into(),
            quotas: Quotas::default(),
            rate_limits: RateLimits::none(),
            pagination_key: rand::random::<[u8; 32]>().to_vec(),
            max_body_bytes: 256 * 1024,
            reject_unknown_fields: true,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new("us-east-1", "123456789012")
    }
}

/// Resource quotas per account (ServiceQuotaExceededException, HTTP 402, when reached).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// Rooms. Default 50,000 (AWS default; the reference marks it unverified).
    pub max_rooms: u64,
    /// Logging configurations. Default 10 (AWS default).
    pub max_logging_configurations: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas { max_rooms: 50_000, max_logging_configurations: 10 }
    }
}

/// Requests per second allowed per operation (token buckets with a burst of one second's worth);
/// an operation without a limit is never throttled. Exceeding one answers ThrottlingException (429).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    per_operation: BTreeMap<Operation, u32>,
}

impl RateLimits {
    /// No limits (the default).
    pub fn none() -> RateLimits {
        RateLimits::default()
    }

    /// Strict mode: AWS's published per-account TPS for every operation (the quotas of `operation::aws_tps`).
    pub fn aws() -> RateLimits {
        RateLimits { per_operation: Operation::ALL.into_iter().map(|op| (op, crate::operation::aws_tps(op))).collect() }
    }

    /// Sets (or with `None` removes) one operation's limit; a limit of 0 refuses every call.
    pub fn set(&mut self, op: Operation, tps: Option<u32>) -> &mut RateLimits {
        match tps {
            Some(tps) => self.per_operation.insert(op, tps),
            None => self.per_operation.remove(&op),
        };
        self
    }

    pub fn get(&self, op: Operation) -> Option<u32> {
        self.per_operation.get(&op).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.per_operation.is_empty()
    }
}
