//! AWS's fixed request-rate quotas of the API Gateway control plane ("API Gateway quotas for creating, deploying
//! and managing an API"), enforced in strict mode on the control plane's clock: 10 requests per second in all with
//! a burst of 40, and `CreateDeployment` once every 5 seconds. Past them the answer is 429 TooManyRequestsException.

use parking_lot::Mutex;
use ratelimit::TokenBucket;
use time::OffsetDateTime;
use wire::{ApiError, ErrorCode};

use crate::Operation;

/// Every operation together: 10 per second, with a burst of 40.
const TOTAL: (f64, u32) = (10.0, 40);
/// `CreateDeployment`: one request every 5 seconds.
const CREATE_DEPLOYMENT: (f64, u32) = (0.2, 1);

/// The two buckets, filled at the first request.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    buckets: Mutex<Option<Buckets>>,
}

#[derive(Debug)]
struct Buckets {
    total: TokenBucket<OffsetDateTime>,
    create_deployment: TokenBucket<OffsetDateTime>,
}

impl Throttle {
    /// Admits one request of `op` at `now`, or answers what AWS answers past its quota.
    pub(crate) fn admit(&self, op: Operation, now: OffsetDateTime) -> Result<(), ApiError> {
        let mut guard = self.buckets.lock();
        let buckets = guard.get_or_insert_with(|| Buckets {
            total: TokenBucket::with_burst(TOTAL.0, TOTAL.1, now),
            create_deployment: TokenBucket::with_burst(CREATE_DEPLOYMENT.0, CREATE_DEPLOYMENT.1, now),
        });
        let admitted = if op == Operation::CreateDeployment {
            // A refused deployment spends nothing of the total, as a request AWS throttles first.
            buckets.create_deployment.try_take(now) && buckets.total.try_take(now)
        } else {
            buckets.total.try_take(now)
        };
        if admitted { Ok(()) } else { Err(ApiError::new(ErrorCode::TooManyRequests, "Too Many Requests")) }
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn forty_at_once_then_ten_a_second_and_one_deployment_every_five_seconds() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let throttle = Throttle::default();
        assert!(throttle.admit(Operation::CreateDeployment, t0).is_ok());
        let err = throttle.admit(Operation::CreateDeployment, t0 + Duration::seconds(4)).unwrap_err();
        assert_eq!((err.code, err.message.as_str()), (ErrorCode::TooManyRequests, "Too Many Requests"));
        let admitted = (0..100).filter(|_| throttle.admit(Operation::GetApis, t0).is_ok()).count();
        assert_eq!(admitted, 39, "the deployment took one of the burst of 40");
        assert!(throttle.admit(Operation::GetApis, t0 + Duration::milliseconds(100)).is_ok());
        assert!(throttle.admit(Operation::GetApis, t0 + Duration::milliseconds(100)).is_err());
        assert!(throttle.admit(Operation::CreateDeployment, t0 + Duration::seconds(5)).is_ok());
    }
}
