//! Route throttling of a stage, as API Gateway applies a stage's `DefaultRouteSettings` and `RouteSettings`
//! (`ThrottlingRateLimit` requests per second, `ThrottlingBurstLimit` at once) to WebSocket routes: one token bucket
//! per stage and route, shared by all the stage's connections on this node. A throttled `$connect` answers 429, a
//! throttled message gets the `Too Many Requests` frame.

use std::collections::HashMap;

use parking_lot::Mutex;
use ratelimit::TokenBucket;
use serde::Deserialize;
use tokio::time::Instant;

use crate::model::{Route, Stage};

/// A route's throttling settings, as the model's `RouteSettings` has them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    #[serde(default)]
    pub throttling_rate_limit: Option<f64>,
    #[serde(default)]
    pub throttling_burst_limit: Option<u32>,
}

impl RouteSettings {
    /// Each limit the route sets, else the stage's default.
    fn over(self, default: RouteSettings) -> RouteSettings {
        RouteSettings {
            throttling_rate_limit: self.throttling_rate_limit.or(default.throttling_rate_limit),
            throttling_burst_limit: self.throttling_burst_limit.or(default.throttling_burst_limit),
        }
    }

    /// The bucket these settings make, if they limit anything: a rate alone bursts one second's worth (at least
    /// one), a burst alone refills at that many per second.
    fn bucket(self) -> Option<TokenBucket> {
        let (rate, burst) = match (self.throttling_rate_limit, self.throttling_burst_limit) {
            (None, None) => return None,
            (Some(rate), Some(burst)) => (rate, burst),
            (Some(rate), None) => (rate, rate.ceil().clamp(1.0, f64::from(u32::MAX)) as u32),
            (None, Some(burst)) => (f64::from(burst), burst),
        };
        Some(TokenBucket::with_burst(rate, burst, Instant::now()))
    }
}

/// The buckets of every throttled route of one API, by stage then route key (looked up by `&str`, so a message costs
/// no allocation).
#[derive(Debug, Default)]
pub(crate) struct Throttles {
    buckets: HashMap<String, HashMap<String, Mutex<TokenBucket>>>,
}

impl Throttles {
    pub(crate) fn of(stages: &[Stage], routes: &[Route]) -> Throttles {
        let mut buckets = HashMap::new();
        for stage in stages {
            let default = stage.default_route_settings.unwrap_or_default();
            let throttled: HashMap<String, Mutex<TokenBucket>> = routes
                .iter()
                .filter_map(|route| {
                    let settings = stage.route_settings.get(&route.route_key).copied().unwrap_or_default();
                    Some((route.route_key.clone(), Mutex::new(settings.over(default).bucket()?)))
                })
                .collect();
            if !throttled.is_empty() {
                buckets.insert(stage.stage_name.clone(), throttled);
            }
        }
        Throttles { buckets }
    }

    /// Takes one request of `route_key` at `stage`; false when its limit is reached.
    pub(crate) fn admit(&self, stage: &str, route_key: &str) -> bool {
        match self.buckets.get(stage).and_then(|routes| routes.get(route_key)) {
            Some(bucket) => bucket.lock().try_take(Instant::now()),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn stage(default: RouteSettings, route: Option<(&str, RouteSettings)>) -> Stage {
        Stage {
            stage_name: "prod".into(),
            default_route_settings: Some(default),
            route_settings: route.into_iter().map(|(k, s)| (k.to_owned(), s)).collect(),
            ..Stage::default()
        }
    }

    fn route(key: &str) -> Route {
        toml::from_str(&format!("route_key = '{key}'")).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn routes_take_their_own_limits_over_the_stages_default() {
        let default = RouteSettings { throttling_rate_limit: Some(1.0), throttling_burst_limit: Some(2) };
        let send = RouteSettings { throttling_burst_limit: Some(3), ..RouteSettings::default() };
        let throttles = Throttles::of(&[stage(default, Some(("send", send)))], &[route("send"), route("$default")]);
        assert_eq!((0..10).filter(|_| throttles.admit("prod", "$default")).count(), 2);
        assert_eq!((0..10).filter(|_| throttles.admit("prod", "send")).count(), 3, "its burst, the default's rate");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(throttles.admit("prod", "send") && !throttles.admit("prod", "send"));
        assert!(throttles.admit("dev", "send"), "another stage is not throttled");
        let none = Throttles::of(&[stage(RouteSettings::default(), None)], &[route("send")]);
        assert!((0..1000).all(|_| none.admit("prod", "send")));
    }
}
