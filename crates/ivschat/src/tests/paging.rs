//! ListRooms / ListLoggingConfigurations pagination: maxResults, pages that stay correct while rooms are
//! created and deleted between them, and tokens that are tamper-evident and bound to their filters.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::*;

const BAD_TOKEN: &str = r#"{"message":"1 validation error detected: Value at 'nextToken' failed to satisfy constraint: Member must be a nextToken returned by a previous call with the same filters","reason":"FIELD_VALIDATION_FAILED","fieldList":[{"name":"nextToken","message":"Member must be a nextToken returned by a previous call with the same filters"}]}"#;

fn ids(v: &Value) -> Vec<String> {
    v["rooms"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn default_page_is_fifty() {
    let h = harness().await;
    for _ in 0..51 {
        h.room(json!({})).await;
    }
    let first = h.ok("ListRooms", json!({})).await;
    assert_eq!(ids(&first).len(), 50);
    let token = first["nextToken"].as_str().unwrap();
    assert!(token.len() <= 1024);
    let rest = h.ok("ListRooms", json!({"nextToken": token})).await;
    assert_eq!(ids(&rest).len(), 1);
    assert!(rest.get("nextToken").is_none());
}

#[tokio::test]
async fn pages_stay_correct_while_rooms_come_and_go() {
    let h = harness().await;
    let mut initial = Vec::new();
    for _ in 0..23 {
        initial.push(h.room(json!({"name": "keep"})).await);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut deleted = HashSet::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"maxResults": 4, "name": "keep"});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = h.ok("ListRooms", body).await;
        let page_ids = ids(&page);
        seen.extend(page_ids.iter().cloned());
        // Between pages: a new matching room, a deleted already-seen room, the deleted last row of this
        // page (the cursor's own row), and a deleted room not yet seen.
        h.room(json!({"name": "keep"})).await;
        if let Some(first) = page_ids.first() {
            assert_eq!(h.post("DeleteRoom", json!({"identifier": first})).await.status, 204);
        }
        let Some(next) = page["nextToken"].as_str() else { break };
        if let Some(last) = page_ids.last() {
            h.post("DeleteRoom", json!({"identifier": last})).await;
        }
        if let Some(unseen) = initial.iter().find(|id| !seen.contains(id) && !deleted.contains(*id)).cloned() {
            assert_eq!(h.post("DeleteRoom", json!({"identifier": unseen})).await.status, 204);
            deleted.insert(unseen);
        }
        token = Some(next.to_owned());
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a room was listed twice");
    let newest_first: Vec<String> = initial.iter().rev().cloned().collect();
    let expected: Vec<String> = newest_first.iter().filter(|id| !deleted.contains(*id)).cloned().collect();
    assert_eq!(seen, expected, "every room present throughout, newest first, none skipped");
}

#[tokio::test]
async fn tampered_and_misused_tokens_are_rejected() {
    let h = harness().await;
    for _ in 0..3 {
        h.room(json!({"name": "a"})).await;
    }
    h.lc("x").await;
    h.lc("y").await;
    let page = h.ok("ListRooms", json!({"maxResults": 1, "name": "a"})).await;
    let token = page["nextToken"].as_str().unwrap().to_owned();
    assert_eq!(h.post("ListRooms", json!({"maxResults": 1, "name": "a", "nextToken": token})).await.status, 200);

    // Any flipped bit.
    let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
    for i in 0..raw.len() {
        let mut bytes = raw.clone();
        bytes[i] ^= 0x80;
        let resp = h.post("ListRooms", json!({"name": "a", "nextToken": URL_SAFE_NO_PAD.encode(&bytes)})).await;
        assert_error(&resp, 400, "ValidationException", BAD_TOKEN);
    }
    // Truncated, extended, or not base64 at all.
    for bad in [&token[..token.len() - 1], &format!("{token}A"), "!!!!"] {
        assert_error(
            &h.post("ListRooms", json!({"name": "a", "nextToken": bad})).await,
            400,
            "ValidationException",
            BAD_TOKEN,
        );
    }
    // Different filters, or the other listing.
    assert_error(&h.post("ListRooms", json!({"nextToken": token})).await, 400, "ValidationException", BAD_TOKEN);
    assert_error(
        &h.post("ListRooms", json!({"name": "b", "nextToken": token})).await,
        400,
        "ValidationException",
        BAD_TOKEN,
    );
    assert_error(
        &h.post("ListLoggingConfigurations", json!({"nextToken": token})).await,
        400,
        "ValidationException",
        BAD_TOKEN,
    );
    let lc_token =
        h.ok("ListLoggingConfigurations", json!({"maxResults": 1})).await["nextToken"].as_str().unwrap().to_owned();
    assert_error(&h.post("ListRooms", json!({"nextToken": lc_token})).await, 400, "ValidationException", BAD_TOKEN);
    // Forged under another key.
    let mut other = config();
    other.pagination_key = b"another key".to_vec();
    let h2 = harness_with(other, tempfile::tempdir().unwrap(), 0).await;
    assert_error(
        &h2.post("ListRooms", json!({"name": "a", "nextToken": token})).await,
        400,
        "ValidationException",
        BAD_TOKEN,
    );
}
