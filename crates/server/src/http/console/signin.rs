//! Signing in to the console off loopback: a key pair of the server's posted once, checked in constant time, then an
//! HttpOnly, SameSite=Strict cookie holding `{accessKeyId}.{expiry}.{HMAC}`, the HMAC keyed with that key pair's
//! secret, so that nothing is stored, a changed secret ends its sessions, and a cookie cannot be forged or extended.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde::Deserialize;
use sha2::Sha256;
use time::OffsetDateTime;

use crate::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "switchboard_console";

/// How long a session lasts, in seconds.
pub(crate) const SESSION_SECONDS: i64 = 12 * 3600;

/// Sign-in attempts per second on a node, after a burst of [`BURST`]; past them the console answers 429, so that
/// guessing a secret goes nowhere.
pub(crate) const PER_SECOND: u32 = 2;
pub(crate) const BURST: u32 = 10;

/// The key of the HMAC under which a posted secret and the configured one are compared, so the comparison takes the
/// same time wherever they differ.
const COMPARE_KEY: &[u8] = b"switchboard console sign-in";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    access_key_id: String,
    secret_access_key: String,
}

fn session_mac(secret: &str, access_key_id: &str, expiry: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("switchboard-console\n{access_key_id}\n{expiry}").as_bytes());
    mac
}

fn compare_mac(secret: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(COMPARE_KEY).expect("HMAC takes any key");
    mac.update(secret.as_bytes());
    mac
}

/// Checks posted credentials (`{"accessKeyId", "secretAccessKey"}`) and answers the `Set-Cookie` value of a new
/// session, or `None`.
pub(crate) fn sign_in(state: &AppState, body: &[u8]) -> Option<String> {
    let credentials: Credentials = serde_json::from_slice(body).ok()?;
    let secret = state.keys.as_ref()?.secret(&credentials.access_key_id)?;
    let expected = compare_mac(secret).finalize().into_bytes();
    compare_mac(&credentials.secret_access_key).verify_slice(&expected).ok()?;
    let expiry = OffsetDateTime::now_utc().unix_timestamp() + SESSION_SECONDS;
    let tag = hex::encode(session_mac(secret, &credentials.access_key_id, expiry).finalize().into_bytes());
    Some(format!(
        "{COOKIE}={}.{expiry}.{tag}; Path=/@switchboard/console; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}",
        credentials.access_key_id
    ))
}

/// The `Set-Cookie` value that ends a session.
pub(crate) fn sign_out() -> String {
    format!("{COOKIE}=; Path=/@switchboard/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Whether a request may use the console's API: always on loopback, else with a live session cookie.
pub(crate) fn allowed(state: &AppState, headers: &HeaderMap) -> bool {
    !super::needs_signin(state) || session_of(state, headers).is_some()
}

/// The access key id of a request's live session.
pub(crate) fn session_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let keys = state.keys.as_ref()?;
    let value = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))?;
    let (rest, tag) = value.rsplit_once('.')?;
    let (access_key_id, expiry) = rest.rsplit_once('.')?;
    let expiry: i64 = expiry.parse().ok()?;
    if expiry <= OffsetDateTime::now_utc().unix_timestamp() {
        return None;
    }
    let secret = keys.secret(access_key_id)?;
    session_mac(secret, access_key_id, expiry).verify_slice(&hex::decode(tag).ok()?).ok()?;
    Some(access_key_id.to_owned())
}

/// Whether a request's `Host` may reach the console: on a loopback admin address, only a loopback name or address
/// (`localhost`, `127.0.0.1`, `[::1]`, any port), so that a site whose name was rebound to 127.0.0.1 cannot read a
/// console that asks nobody to sign in; off loopback any host, since the session cookie guards the API.
pub(crate) fn host_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    if super::needs_signin(state) {
        return true;
    }
    let Some(host) = headers.get(http::header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
