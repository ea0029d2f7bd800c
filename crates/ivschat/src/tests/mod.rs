//! Test harness: a `ControlPlane` over a real `SqliteStore` in a temporary directory, a recording
//! `RoomEvents`, a fake `TokenIssuer` (tests only) and a clock that steps one millisecond per reading.

mod chat;
mod errors;
mod logging;
mod paging;
mod restart;
mod rooms;
mod tags;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use http::Method;
use parking_lot::Mutex;
use serde_json::Value;
use store::{Room, SqliteStore};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::{
    ChatEvent, Config, ControlPlane, EffectError, IssuedToken, MessageDeletion, RoomEvents, TokenIssuer, TokenRequest,
    UserDisconnection,
};

pub(crate) const REGION: &str = "us-west-2";
pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const ROOM_ARN_PREFIX: &str = "arn:aws:ivschat:us-west-2:123456789012:room/";
pub(crate) const LC_ARN_PREFIX: &str = "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/";

/// One call the control plane made into the messaging layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    SendEvent(String, ChatEvent),
    DeleteMessage(String, MessageDeletion),
    DisconnectUser(String, UserDisconnection),
    Updated(Room),
    Deleted(Room),
}

/// How the recorder fails the next broadcasts, if at all.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Failure {
    Throttled(u32),
    Failed,
}

#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) calls: Mutex<Vec<Call>>,
    pub(crate) failure: Mutex<Option<Failure>>,
    /// The connections presence answers: (room id, connection).
    pub(crate) present: Mutex<Vec<(String, crate::Connected)>>,
}

impl Recorder {
    fn outcome(&self) -> Result<(), EffectError> {
        match *self.failure.lock() {
            None => Ok(()),
            Some(Failure::Throttled(limit)) => Err(EffectError::Throttled { limit }),
            Some(Failure::Failed) => Err(EffectError::Failed("hub unavailable".to_owned())),
        }
    }

    pub(crate) fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock())
    }
}

#[async_trait]
impl RoomEvents for Recorder {
    async fn send_event(&self, room: &Room, event: ChatEvent) -> Result<(), EffectError> {
        self.outcome()?;
        self.calls.lock().push(Call::SendEvent(room.id.clone(), event));
        Ok(())
    }

    async fn delete_message(&self, room: &Room, deletion: MessageDeletion) -> Result<(), EffectError> {
        self.outcome()?;
        self.calls.lock().push(Call::DeleteMessage(room.id.clone(), deletion));
        Ok(())
    }

    async fn disconnect_user(&self, room: &Room, disconnection: UserDisconnection) -> Result<(), EffectError> {
        self.outcome()?;
        self.calls.lock().push(Call::DisconnectUser(room.id.clone(), disconnection));
        Ok(())
    }

    async fn room_updated(&self, room: &Room) {
        self.calls.lock().push(Call::Updated(room.clone()));
    }

    async fn room_deleted(&self, room: &Room) {
        self.calls.lock().push(Call::Deleted(room.clone()));
    }

    async fn presence(&self, room: &Room) -> Result<Vec<crate::Connected>, EffectError> {
        self.outcome()?;
        Ok(self.present.lock().iter().filter(|(id, _)| *id == room.id).map(|(_, c)| c.clone()).collect())
    }
}

/// Test-only issuer: a readable token, valid one minute, session as requested.
#[derive(Default)]
pub(crate) struct FakeIssuer {
    pub(crate) requests: Mutex<Vec<TokenRequest>>,
    pub(crate) fail: Mutex<bool>,
}

#[async_trait]
impl TokenIssuer for FakeIssuer {
    async fn issue(&self, request: TokenRequest) -> Result<IssuedToken, EffectError> {
        if *self.fail.lock() {
            return Err(EffectError::Failed("key unavailable".to_owned()));
        }
        let token = format!(
            "tok_{}_{}",
            request.user_id,
            request.capabilities.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("-")
        );
        let issued = IssuedToken {
            token,
            token_expiration_time: request.now + time::Duration::minutes(1),
            session_expiration_time: request.now + request.session_duration,
        };
        self.requests.lock().push(request);
        Ok(issued)
    }
}

pub(crate) const T0: OffsetDateTime = datetime!(2024-01-01 00:00 UTC);

/// A clock reading `T0 + n ms` on its n-th reading (plus `offset_ms`).
pub(crate) fn stepping_clock(offset_ms: i64) -> impl Fn() -> OffsetDateTime + Send + Sync + 'static {
    let n = AtomicI64::new(0);
    move || T0 + time::Duration::milliseconds(offset_ms + n.fetch_add(1, Ordering::SeqCst))
}

pub(crate) fn config() -> Config {
    let mut config = Config::new(REGION, ACCOUNT);
    config.pagination_key = b"test pagination key".to_vec();
    config
}

pub(crate) struct H {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) cp: ControlPlane,
    pub(crate) events: Arc<Recorder>,
    pub(crate) issuer: Arc<FakeIssuer>,
}

pub(crate) async fn harness() -> H {
    harness_with(config(), tempfile::tempdir().expect("tempdir"), 0).await
}

pub(crate) async fn harness_with(config: Config, dir: tempfile::TempDir, clock_offset_ms: i64) -> H {
    let store = SqliteStore::open(dir.path()).await.expect("open store");
    let events = Arc::new(Recorder::default());
    let issuer = Arc::new(FakeIssuer::default());
    let cp = ControlPlane::new(Arc::new(store), events.clone(), issuer.clone(), config)
        .with_clock(stepping_clock(clock_offset_ms));
    H { dir, cp, events, issuer }
}

/// What the server would send: status, `x-amzn-ErrorType` (errors only) and body text.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) error_type: Option<&'static str>,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("body {:?} is not JSON: {e}", self.body))
    }
}

impl H {
    pub(crate) async fn call(&self, method: Method, path: &str, query: Option<&str>, body: &[u8]) -> Resp {
        match self.cp.handle(&method, path, query, body).await {
            Ok(reply) => Resp {
                status: reply.status.as_u16(),
                error_type: None,
                body: String::from_utf8(reply.body).expect("utf-8 body"),
            },
            Err(e) => Resp {
                status: e.status().as_u16(),
                error_type: Some(e.code.aws_type()),
                body: String::from_utf8(e.body()).expect("utf-8 body"),
            },
        }
    }

    /// `POST /<op>` with a JSON body.
    pub(crate) async fn post(&self, op: &str, body: Value) -> Resp {
        self.call(Method::POST, &format!("/{op}"), None, body.to_string().as_bytes()).await
    }

    /// `POST /<op>` that must answer 200; its JSON.
    pub(crate) async fn ok(&self, op: &str, body: Value) -> Value {
        let resp = self.post(op, body).await;
        assert_eq!(resp.status, 200, "{op}: {}", resp.body);
        resp.json()
    }

    /// Creates a room from `body`; its id.
    pub(crate) async fn room(&self, body: Value) -> String {
        self.ok("CreateRoom", body).await["id"].as_str().expect("id").to_owned()
    }

    /// Creates an S3 logging configuration; its id.
    pub(crate) async fn lc(&self, name: &str) -> String {
        let body = serde_json::json!({"name": name, "destinationConfiguration": {"s3": {"bucketName": "logs"}}});
        self.ok("CreateLoggingConfiguration", body).await["id"].as_str().expect("id").to_owned()
    }
}

/// Asserts an error's status, type and exact body.
#[track_caller]
pub(crate) fn assert_error(resp: &Resp, status: u16, error_type: &str, body: &str) {
    assert_eq!(resp.error_type, Some(error_type), "body: {}", resp.body);
    assert_eq!(resp.status, status, "body: {}", resp.body);
    assert_eq!(resp.body, body);
}

/// Replaces each id with `<name>` so bodies with generated ids can be pinned.
pub(crate) fn pin(body: &str, ids: &[(&str, &str)]) -> String {
    let mut out = body.to_owned();
    for (id, name) in ids {
        out = out.replace(id, &format!("<{name}>"));
    }
    out
}
