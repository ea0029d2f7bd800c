//! Chat tokens: signed claims (room, user, capabilities, attributes, expiry times) that a client presents once, as
//! its WebSocket subprotocol, to join a room.
//!
//! A token is `base64url(claims JSON) "." base64url(HMAC-SHA256(key, first part))`, without padding: only RFC 7230
//! `tchar`s, so every WebSocket client accepts it as a subprotocol. The 32-byte key is given by the server (from its
//! data directory, or shared through the cluster's store), so tokens survive restarts of their issuer. This file checks
//! what the token itself proves (format, signature, expiry); its single use is recorded in the store
//! (`Store::redeem_token`), so it holds across restarts and across the nodes sharing the store.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use ivschat::ChatTokenCapability;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

/// Longest token looked at; real ones are under 2 KB (1 KB of attributes, 128 characters of user id).
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Capabilities as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Capabilities(u8);

impl Capabilities {
    fn bit(capability: ChatTokenCapability) -> u8 {
        match capability {
            ChatTokenCapability::SendMessage => 1,
            ChatTokenCapability::DisconnectUser => 2,
            ChatTokenCapability::DeleteMessage => 4,
        }
    }

    pub(crate) fn of(capabilities: &[ChatTokenCapability]) -> Capabilities {
        Capabilities(capabilities.iter().fold(0, |bits, c| bits | Capabilities::bit(*c)))
    }

    pub(crate) fn allows(self, capability: ChatTokenCapability) -> bool {
        self.0 & Capabilities::bit(capability) != 0
    }
}

/// What a token says. Field names are short: the token travels in a header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    #[serde(rename = "v")]
    version: u8,
    #[serde(rename = "r")]
    pub(crate) room_id: String,
    #[serde(rename = "u")]
    pub(crate) user_id: String,
    #[serde(rename = "c")]
    capabilities: u8,
    #[serde(rename = "a", default)]
    pub(crate) attributes: BTreeMap<String, String>,
    /// Issue time, Unix milliseconds.
    #[serde(rename = "i")]
    issued_ms: i64,
    /// Token expiry, Unix milliseconds.
    #[serde(rename = "t")]
    token_expires_ms: i64,
    /// Session expiry, Unix milliseconds.
    #[serde(rename = "s")]
    session_expires_ms: i64,
    /// 16 random bytes in base64url: what makes a token single-use.
    #[serde(rename = "n")]
    nonce: String,
}

impl Claims {
    pub(crate) fn new(
        room_id: &str,
        user_id: &str,
        capabilities: Capabilities,
        attributes: BTreeMap<String, String>,
        issued: OffsetDateTime,
        token_expires: OffsetDateTime,
        session_expires: OffsetDateTime,
    ) -> Claims {
        Claims {
            version: 1,
            room_id: room_id.to_owned(),
            user_id: user_id.to_owned(),
            capabilities: capabilities.0,
            attributes,
            issued_ms: unix_ms(issued),
            token_expires_ms: unix_ms(token_expires),
            session_expires_ms: unix_ms(session_expires),
            nonce: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
        }
    }

    pub(crate) fn capabilities(&self) -> Capabilities {
        Capabilities(self.capabilities)
    }

    pub(crate) fn session_expires(&self) -> OffsetDateTime {
        from_unix_ms(self.session_expires_ms)
    }

    /// The token's unique nonce: what single use is tracked by.
    pub(crate) fn nonce(&self) -> &str {
        &self.nonce
    }

    pub(crate) fn token_expires(&self) -> OffsetDateTime {
        from_unix_ms(self.token_expires_ms)
    }
}

/// Why a token was refused at the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not a token of this server's format.
    Malformed,
    /// The signature does not match: forged or altered, or signed with another key.
    Forged,
    Expired,
}

impl TokenError {
    pub(crate) fn refusal(self) -> wire::Refusal {
        match self {
            TokenError::Malformed => wire::Refusal::ChatTokenMalformed,
            TokenError::Forged => wire::Refusal::ChatTokenForged,
            TokenError::Expired => wire::Refusal::ChatTokenExpired,
        }
    }
}

/// Issues tokens and checks them; one per service.
pub(crate) struct Tokens {
    key: [u8; 32],
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn with_key(key: [u8; 32]) -> Tokens {
        Tokens { key }
    }

    pub(crate) fn issue(&self, claims: &Claims) -> String {
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = URL_SAFE_NO_PAD.encode(json);
        let signature = self.mac(token.as_bytes()).finalize().into_bytes();
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        token
    }

    /// Checks a token's format, signature and expiry (not its single use: see `Store::redeem_token`). Never
    /// panics, whatever the input.
    pub(crate) fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (payload, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
        self.mac(payload.as_bytes()).verify_slice(&signature).map_err(|_| TokenError::Forged)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        // Times this server could not have written: their conversion would fall back to 1970, and a redemption
        // recorded as expiring then would not stop a second one.
        let times = [claims.issued_ms, claims.token_expires_ms, claims.session_expires_ms];
        if claims.version != 1 || times.into_iter().any(|ms| checked_from_unix_ms(ms).is_none()) {
            return Err(TokenError::Malformed);
        }
        let now_ms = unix_ms(now);
        if now_ms >= claims.token_expires_ms {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn mac(&self, data: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(data);
        mac
    }
}

pub(crate) fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_unix_ms(ms: i64) -> OffsetDateTime {
    checked_from_unix_ms(ms).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `None` outside the years `time` represents (±9999).
fn checked_from_unix_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn claims(now: OffsetDateTime) -> Claims {
        let attributes = BTreeMap::from([("avatar".to_owned(), "https://x/y.png".to_owned())]);
        let capabilities = Capabilities::of(&[ChatTokenCapability::SendMessage, ChatTokenCapability::DeleteMessage]);
        Claims::new(
            "g1H2I3j4k5L6",
            "user ü/1",
            capabilities,
            attributes,
            now,
            now + Duration::minutes(1),
            now + Duration::hours(1),
        )
    }

    fn is_tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }

    #[test]
    fn round_trip() {
        let now = OffsetDateTime::now_utc();
        let tokens = Tokens::with_key([7; 32]);
        let issued = claims(now);
        let token = tokens.issue(&issued);
        assert!(token.bytes().all(is_tchar), "{token}");
        let redeemed = tokens.verify(&token, now).unwrap();
        assert_eq!(redeemed, issued);
        assert!(redeemed.capabilities().allows(ChatTokenCapability::SendMessage));
        assert!(redeemed.capabilities().allows(ChatTokenCapability::DeleteMessage));
        assert!(!redeemed.capabilities().allows(ChatTokenCapability::DisconnectUser));
        // Another process with the same key (a restart, another node) reads it alike.
        assert_eq!(Tokens::with_key([7; 32]).verify(&token, now + Duration::seconds(1)), Ok(issued));
    }

    #[test]
    fn refuses_forged_altered_and_expired_tokens() {
        let now = OffsetDateTime::now_utc();
        let tokens = Tokens::with_key([7; 32]);
        let other = Tokens::with_key([8; 32]);
        assert_eq!(tokens.verify(&other.issue(&claims(now)), now), Err(TokenError::Forged));

        let token = tokens.issue(&claims(now));
        let (payload, signature) = token.split_once('.').unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        json["c"] = 7.into();
        let altered = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(json.to_string()));
        assert_eq!(tokens.verify(&altered, now), Err(TokenError::Forged));

        assert_eq!(tokens.verify(&tokens.issue(&claims(now)), now + Duration::minutes(1)), Err(TokenError::Expired));

        // Signed, but with times no issuer writes (found by the `chat_token` fuzz target: the redemption was
        // recorded as expiring in 1970, so the token was admitted twice).
        for (field, ms) in [("t", i64::MAX), ("s", i64::MIN), ("i", 253_402_300_800_000)] {
            let token = tokens.issue(&claims(now));
            let payload = token.split_once('.').unwrap().0;
            let mut json: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
            json[field] = ms.into();
            let payload = URL_SAFE_NO_PAD.encode(json.to_string());
            let signature = URL_SAFE_NO_PAD.encode(tokens.mac(payload.as_bytes()).finalize().into_bytes());
            assert_eq!(tokens.verify(&format!("{payload}.{signature}"), now), Err(TokenError::Malformed), "{field}");
        }

        for garbage in ["", ".", "abc", "a.b", "!!!.###", "e30.AAAA", &"x".repeat(MAX_TOKEN_LEN + 1)] {
            assert!(
                matches!(tokens.verify(garbage, now), Err(TokenError::Malformed | TokenError::Forged)),
                "{garbage}"
            );
        }
    }
}
