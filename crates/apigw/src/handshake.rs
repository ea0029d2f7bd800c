//! The handshake of an API socket as `$connect` sees it: the stage a `GET /{stage}` names, and the connection's
//! context (headers with their usual spelling, the decoded query, identity, domain name) built from the request.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;
use http::request::Parts;
use hub::Connection;
use wire::apigw::Identity;

use crate::connect::ConnContext;
use crate::model::{ApiRuntime, ApiSet, Stage};

/// How the client reached this server, beyond the request itself.
#[derive(Clone, Copy, Debug)]
pub struct Peer<'a> {
    pub addr: SocketAddr,
    /// Whether the connection came over TLS (`X-Forwarded-Proto`).
    pub tls: bool,
    /// The domain name of events when the request has no `Host`.
    pub default_host: &'a str,
}

impl ApiSet {
    /// The API and stage a handshake names: the path's stage, the API chosen by the `Host`.
    pub fn for_handshake(&self, parts: &Parts) -> Option<(Arc<ApiRuntime>, &Stage)> {
        let stage = parts.uri.path().trim_start_matches('/').trim_end_matches('/');
        self.resolve(stage, host(&parts.headers))
    }
}

impl ConnContext {
    /// The context of `conn`, accepted at `stage` of `api` through the handshake `parts`.
    pub fn of_handshake(
        parts: &Parts,
        (api, stage): (Arc<ApiRuntime>, &Stage),
        conn: &Connection,
        peer: Peer<'_>,
    ) -> ConnContext {
        let info = conn.info();
        let host = host(&parts.headers).unwrap_or(peer.default_host);
        ConnContext {
            stage_variables: stage.stage_variables.clone(),
            stage: stage.stage_name.clone(),
            api,
            connection_id: conn.id().to_string(),
            connected_at: info.connected_at,
            identity: Identity {
                source_ip: info.source_ip.clone(),
                user_agent: info.user_agent.as_deref().map(str::to_owned),
            },
            domain_name: domain_name(host, parts.uri.path()),
            headers: event_headers(&parts.headers, peer.addr, peer.tls),
            query: parts.uri.query().map(form_pairs).unwrap_or_default(),
            authorizer: None,
            caller: None,
            api_key: None,
        }
    }
}

/// `domainName` of events: the API's endpoint without its scheme, so that `{scheme}://{domainName}/{stage}` is its
/// management API — the `Host` for a configured API (`/{stage}`), `{Host}/@apis/{apiId}` for a deployed stage of an
/// API defined through the control plane (its `ApiEndpoint` is `ws://{Host}/@apis/{apiId}`).
fn domain_name(host: &str, path: &str) -> String {
    match crate::deployed::endpoint_path(path) {
        Some((api_id, _)) => format!("{host}{}{api_id}", crate::deployed::APIS_PREFIX),
        None => host.to_owned(),
    }
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(http::header::HOST).and_then(|h| h.to_str().ok())
}

/// Decoded `k=v` pairs of a query string.
fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_form(k), decode_form(v))
        })
        .collect()
}

fn decode_form(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// Handshake headers as API Gateway shows them to `$connect`: well-known names in their usual spelling, others as
/// received, plus the `X-Forwarded-*` headers API Gateway adds.
fn event_headers(headers: &HeaderMap, peer: SocketAddr, tls: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| Some((display_name(name.as_str()), value.to_str().ok()?.to_owned())))
        .filter(|(name, _)| !name.starts_with("X-Forwarded-"))
        .collect();
    out.push(("X-Forwarded-For".to_owned(), peer.ip().to_string()));
    out.push(("X-Forwarded-Port".to_owned(), peer.port().to_string()));
    out.push(("X-Forwarded-Proto".to_owned(), if tls { "https" } else { "http" }.to_owned()));
    out
}

fn display_name(lower: &str) -> String {
    const KNOWN: &[&str] = &[
        "Host",
        "Origin",
        "Cookie",
        "Authorization",
        "User-Agent",
        "Connection",
        "Upgrade",
        "Cache-Control",
        "Pragma",
        "Accept-Encoding",
        "Accept-Language",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions",
        "Sec-WebSocket-Protocol",
        "X-Forwarded-For",
        "X-Forwarded-Port",
        "X-Forwarded-Proto",
        "X-Amzn-Trace-Id",
    ];
    KNOWN.iter().find(|k| k.eq_ignore_ascii_case(lower)).map_or_else(|| lower.to_owned(), |k| (*k).to_owned())
}

#[cfg(test)]
mod tests {
    use hub::{ConnectionInfo, Hub, HubConfig, Scope};
    use time::OffsetDateTime;

    use super::Peer;
    use crate::connect::ConnContext;

    #[test]
    fn builds_the_connect_context_from_the_request() {
        let apis = crate::testing::one_api();
        let (parts, ()) = http::Request::get("/prod/?a=1+2&b=%41&c")
            .header("host", "example.com")
            .header("x-custom", "v")
            .header("x-forwarded-for", "spoofed")
            .header("sec-websocket-key", "k")
            .body(())
            .unwrap()
            .into_parts();
        let resolved = apis.for_handshake(&parts).unwrap();
        let conn = Hub::new(HubConfig::default()).new_connection(ConnectionInfo {
            scope: Scope::Api { api_id: "a".into(), stage: "prod".into() },
            connected_at: OffsetDateTime::UNIX_EPOCH,
            source_ip: "192.0.2.1".to_owned(),
            user_agent: None,
        });
        let peer = Peer { addr: "192.0.2.1:4000".parse().unwrap(), tls: true, default_host: "0.0.0.0:1" };
        let ctx = ConnContext::of_handshake(&parts, resolved, &conn, peer);
        assert_eq!((ctx.stage.as_str(), ctx.domain_name.as_str()), ("prod", "example.com"));
        assert_eq!(ctx.connection_id, conn.id().to_string());
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        assert_eq!(ctx.query, pairs(&[("a", "1 2"), ("b", "A"), ("c", "")]));
        assert_eq!(
            ctx.headers,
            pairs(&[
                ("Host", "example.com"),
                ("x-custom", "v"),
                ("Sec-WebSocket-Key", "k"),
                ("X-Forwarded-For", "192.0.2.1"),
                ("X-Forwarded-Port", "4000"),
                ("X-Forwarded-Proto", "https"),
            ])
        );
        let (parts, ()) = http::Request::get("/nostage").body(()).unwrap().into_parts();
        assert!(apis.for_handshake(&parts).is_none());
        assert_eq!(super::domain_name("example.com", "/@apis/abcdefghij/prod"), "example.com/@apis/abcdefghij");
        assert_eq!(super::domain_name("example.com", "/prod"), "example.com");
    }
}
