//! Unit tests of the registry and outboxes.

use super::*;
use time::OffsetDateTime;

fn info() -> ConnectionInfo {
    ConnectionInfo {
        scope: Scope::Api { api_id: "api".into(), stage: "prod".into() },
        connected_at: OffsetDateTime::now_utc(),
        source_ip: "127.0.0.1".to_owned(),
        user_agent: None,
    }
}

#[test]
fn register_get_unregister() {
    let hub = Hub::new(HubConfig::default());
    let conn = hub.new_connection(info());
    let id = conn.id();
    assert!(hub.get(id).is_none(), "not reachable before registration");
    hub.register(conn.clone());
    assert_eq!(hub.len(), 1);
    assert!(Arc::ptr_eq(&hub.get(id).unwrap(), &conn));
    assert!(hub.unregister(id).is_some());
    assert!(hub.unregister(id).is_none());
    assert!(hub.is_empty());
}

#[test]
fn shutting_down_closes_every_connection_and_every_later_one_at_once() {
    let hub = Hub::new(HubConfig::default());
    let before = hub.new_connection(info());
    hub.register(before.clone());
    let unregistered = hub.new_connection(info());
    hub.shut_down(CloseRequest::shutdown());
    assert!(!before.is_open(), "a registered connection is asked to close");
    assert!(unregistered.is_open(), "only what the hub holds");
    let after = hub.new_connection(info());
    hub.register(after.clone());
    assert!(!after.is_open(), "a connection registered once the hub shut down is closed as it comes in");
    hub.shut_down(CloseRequest::deleted());
    for conn in [&before, &after] {
        let mut batch = Vec::new();
        let request = futures_util::FutureExt::now_or_never(conn.next_outbound(&mut batch)).flatten();
        assert_eq!(request, Some(CloseRequest::shutdown()), "the first request stays");
    }
}

#[test]
fn outbox_is_bounded_in_bytes() {
    let hub = Hub::new(HubConfig { node: 0, outbox_limit: 10 });
    let conn = hub.new_connection(info());
    // One message always fits, even over the limit.
    assert_eq!(conn.send(Outbound::from("x".repeat(20))), Ok(()));
    assert_eq!(conn.send(Outbound::from("y")), Err(SendError::Full));
    assert_eq!(conn.outbox_stats(), OutboxStats { queued_messages: 1, queued_bytes: 20 });
}

#[test]
fn every_queued_message_costs_its_overhead() {
    const LIMIT: usize = 4096;
    let hub = Hub::new(HubConfig { node: 0, outbox_limit: LIMIT });
    let conn = hub.new_connection(info());
    // Empty messages are not free: at most LIMIT / overhead of them fit.
    let accepted = (0..=LIMIT).take_while(|_| conn.send(Outbound::from("")).is_ok()).count();
    assert_eq!(accepted, LIMIT / OUTBOX_MESSAGE_OVERHEAD);
    let stats = conn.outbox_stats();
    assert_eq!((stats.queued_messages, stats.queued_bytes), (accepted, 0));
    assert!(stats.charged_bytes() <= LIMIT);
    // Nor are one-byte messages: a "1 MiB" outbox holds far fewer than a million.
    let hub = Hub::new(HubConfig::default());
    let conn = hub.new_connection(info());
    let accepted = (0..=1 << 20).take_while(|_| conn.send(Outbound::from("x")).is_ok()).count();
    assert_eq!(accepted, (1 << 20) / (OUTBOX_MESSAGE_OVERHEAD + 1));
}

#[test]
fn fan_out_delivery_closes_slow_consumers() {
    let hub = Hub::new(HubConfig { node: 0, outbox_limit: 4 });
    let conn = hub.new_connection(info());
    assert!(conn.deliver(Outbound::from("abcd")));
    assert!(!conn.deliver(Outbound::from("e")));
    assert!(!conn.is_open());
    assert_eq!(conn.send(Outbound::from("f")), Err(SendError::Closed));
}

#[tokio::test]
async fn close_request_wins_over_queued_messages_and_first_close_wins() {
    let hub = Hub::new(HubConfig::default());
    let conn = hub.new_connection(info());
    conn.send(Outbound::from("a")).unwrap();
    assert!(conn.close(CloseRequest::deleted()));
    assert!(!conn.close(CloseRequest::shutdown()));
    let mut batch = Vec::new();
    assert_eq!(conn.next_outbound(&mut batch).await, Some(CloseRequest::deleted()));
    assert!(batch.is_empty());
}

#[tokio::test]
async fn next_outbound_drains_in_order() {
    let hub = Hub::new(HubConfig::default());
    let conn = hub.new_connection(info());
    let waiter = {
        let conn = conn.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            assert_eq!(conn.next_outbound(&mut batch).await, None);
            batch
        })
    };
    tokio::task::yield_now().await;
    conn.send(Outbound::from("1")).unwrap();
    conn.send(Outbound::from("2")).unwrap();
    let batch = waiter.await.unwrap();
    assert!(!batch.is_empty());
    assert_eq!(batch[0], Outbound::from("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_send_from_another_thread_wakes_the_waiting_session() {
    let hub = Hub::new(HubConfig { node: 0, outbox_limit: 64 << 20 });
    let conn = hub.new_connection(info());
    const SENT: usize = 20_000;
    let reader = {
        let conn = conn.clone();
        tokio::spawn(async move {
            let (mut got, mut batch) = (Vec::new(), Vec::new());
            while got.len() < SENT {
                let woken = tokio::time::timeout(std::time::Duration::from_secs(10), conn.next_outbound(&mut batch));
                assert_eq!(woken.await.expect("a send was not woken up for"), None);
                got.append(&mut batch);
            }
            got
        })
    };
    for i in 0..SENT {
        conn.send(Outbound::from(i.to_string())).unwrap();
        if i % 7 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let got = reader.await.unwrap();
    assert!(got.iter().enumerate().all(|(i, m)| *m == Outbound::from(i.to_string())), "in order, none lost");
}

#[tokio::test]
async fn close_after_queued_writes_the_queue_first() {
    let hub = Hub::new(HubConfig::default());
    let conn = hub.new_connection(info());
    conn.send(Outbound::from("last words")).unwrap();
    assert!(conn.close_after_queued(CloseRequest::deleted()));
    assert_eq!(conn.send(Outbound::from("too late")), Err(SendError::Closed));
    assert!(!conn.close(CloseRequest::shutdown()), "the first close request wins");
    let mut batch = Vec::new();
    assert_eq!(conn.next_outbound(&mut batch).await, None);
    assert_eq!(batch, vec![Outbound::from("last words")]);
    batch.clear();
    assert_eq!(conn.next_outbound(&mut batch).await, Some(CloseRequest::deleted()));
    assert!(batch.is_empty());
}

#[test]
fn groups_are_bounded_and_disappear_with_their_last_member() {
    let hub = Hub::new(HubConfig::default());
    let limits = TagLimits { groups: 2, metadata: 1 };
    let (a, b) = (hub.new_connection(info()), hub.new_connection(info()));
    hub.register(a.clone());
    hub.register(b.clone());
    let join =
        |groups: &[&str]| TagChange { join: groups.iter().map(|g| (*g).to_owned()).collect(), ..TagChange::default() };
    let tags = hub.update_tags(&a, &join(&["red", "blue"]), limits).unwrap();
    assert_eq!(tags.groups.iter().map(String::as_str).collect::<Vec<_>>(), ["blue", "red"]);
    hub.update_tags(&b, &join(&["red"]), limits).unwrap();
    assert_eq!(hub.update_tags(&a, &join(&["green"]), limits), Err(TagError::TooManyGroups));
    assert_eq!(a.tags().groups.len(), 2, "a refused change applies nothing");
    let members = |g: &str| {
        let mut ids: Vec<ConnectionId> = hub.group_members(g).iter().map(|c| c.id()).collect();
        ids.sort();
        ids
    };
    let mut both = vec![a.id(), b.id()];
    both.sort();
    assert_eq!(members("red"), both);
    assert_eq!(hub.group_count(), 2);

    let set = TagChange { set: [("k".to_owned(), "v".to_owned())].into(), ..TagChange::default() };
    assert_eq!(hub.update_tags(&b, &set, limits).unwrap().metadata["k"], "v");
    let more = TagChange { set: [("k2".to_owned(), "v".to_owned())].into(), ..TagChange::default() };
    assert_eq!(hub.update_tags(&b, &more, limits), Err(TagError::TooManyMetadata));
    let swap = TagChange { unset: vec!["k".to_owned()], ..more };
    assert_eq!(hub.update_tags(&b, &swap, limits).unwrap().metadata.keys().collect::<Vec<_>>(), ["k2"]);

    let leave = TagChange { leave: vec!["blue".to_owned()], ..TagChange::default() };
    hub.update_tags(&a, &leave, limits).unwrap();
    assert!(members("blue").is_empty());
    assert_eq!(hub.group_count(), 1, "blue disappeared with its last member");
    hub.unregister(a.id());
    assert_eq!(members("red"), [b.id()]);
    assert_eq!(hub.update_tags(&a, &join(&["red"]), limits), Err(TagError::Gone));
    hub.unregister(b.id());
    assert_eq!(hub.group_count(), 0);
}

#[test]
fn a_groups_members_come_in_the_order_their_ids_were_issued() {
    let hub = Hub::new(HubConfig::default());
    let limits = TagLimits { groups: 1, metadata: 0 };
    let join = TagChange { join: vec!["all".to_owned()], ..TagChange::default() };
    let issued: Vec<ConnectionId> = (0..300)
        .map(|_| {
            let conn = hub.new_connection(info());
            hub.register(conn.clone());
            hub.update_tags(&conn, &join, limits).unwrap();
            conn.id()
        })
        .collect();
    let mut in_order = issued.clone();
    in_order.sort();
    assert_eq!(in_order, issued, "ids are issued in increasing order");
    assert_eq!(hub.group_members("all").iter().map(|c| c.id()).collect::<Vec<_>>(), issued);
}
