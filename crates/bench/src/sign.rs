//! Request signing for the generator: SigV4 (header form, `host;x-amz-date`) with a cached signing key, and Pusher's
//! HTTP API signature. Both are cheap enough to sign every request with a unique body.

use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Credentials and scope of SigV4 requests.
#[derive(Clone, Debug)]
pub struct SigV4 {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub service: String,
    cached: Option<(String, [u8; 32])>,
}

/// The headers to add to a signed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub amz_date: String,
    pub authorization: String,
}

/// `yyyymmddThhmmssZ`.
pub fn amz_date(t: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Percent-encodes a raw (wire) path once more, as SigV4 does for every service but S3.
pub fn canonical_path(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl SigV4 {
    pub fn new(access_key_id: &str, secret_access_key: &str, region: &str, service: &str) -> SigV4 {
        SigV4 {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            cached: None,
        }
    }

    /// Signs `method raw_path` (no query) for `host` with `body`, at `now`.
    pub fn sign(&mut self, method: &str, raw_path: &str, host: &str, body: &[u8], now: OffsetDateTime) -> Signed {
        let amz_date = amz_date(now);
        let day = &amz_date[..8];
        let key = match &self.cached {
            Some((d, key)) if d == day => *key,
            _ => {
                let key = sigv4::derive_signing_key(&self.secret_access_key, day, &self.region, &self.service);
                self.cached = Some((day.to_owned(), key));
                key
            }
        };
        let body_hash = hex::encode(Sha256::digest(body));
        let canonical = format!(
            "{method}\n{}\n\nhost:{host}\nx-amz-date:{amz_date}\n\nhost;x-amz-date\n{body_hash}",
            canonical_path(raw_path)
        );
        let scope = format!("{day}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical)));
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(to_sign.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}",
            self.access_key_id
        );
        Signed { amz_date, authorization }
    }
}

/// The query string of a signed Pusher HTTP API `POST {path}` with `body` (auth version 1.0).
pub fn pusher_query(key: &str, secret: &str, path: &str, body: &[u8], unix_seconds: i64) -> String {
    let body_md5 = hex::encode(Md5::digest(body));
    let query = format!("auth_key={key}&auth_timestamp={unix_seconds}&auth_version=1.0&body_md5={body_md5}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("POST\n{path}\n{query}").as_bytes());
    format!("{query}&auth_signature={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_signer() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let mut signer = SigV4::new("AKIDEXAMPLE", "secret/key", "us-east-1", "execute-api");
        let path = "/prod/@connections/L0SM9cOFvHcCIhw%3D";
        let body = b"{\"hello\":1}";
        let ours = signer.sign("POST", path, "127.0.0.1:4510", body, now);
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::HOST, http::HeaderValue::from_static("127.0.0.1:4510"));
        let request = sigv4::SignedRequest::new("POST", path, None, &headers, body);
        let params = sigv4::SigningParams {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "secret/key",
            session_token: None,
            region: "us-east-1",
            service: "execute-api",
            time: now,
        };
        let reference = sigv4::sign(&request, &params);
        assert_eq!(ours.amz_date, reference.amz_date);
        assert_eq!(ours.authorization, reference.authorization);
    }

    #[test]
    fn pusher_signature_matches_the_documented_example() {
        // Pusher's HTTP API documentation example (app 3, key 278d425bdf160c739803, secret 7ad3773142a6692b25b8).
        let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
        let query = pusher_query("278d425bdf160c739803", "7ad3773142a6692b25b8", "/apps/3/events", body, 1353088179);
        assert!(query.contains("body_md5=ec365a775a4cd0599faeb73354201b6f"), "{query}");
        assert!(query.ends_with("auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"));
    }
}
