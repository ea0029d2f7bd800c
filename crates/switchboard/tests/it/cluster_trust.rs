//! Cluster trust: a client that reaches Redis but does not hold the cluster key (generated once and kept in the
//! shared store here) cannot inject management calls or room frames; what it publishes is dropped and counted. And
//! nodes reach Redis over TLS (`rediss://`, a private `redis-server --tls-port`).

use base64::Engine;
use bytes::Bytes;
use server::Server;
use server::config::{Config, FileConfig, ServeArgs};

use crate::cluster::{ClusterEnv, chat_frame, chat_join, chat_token, client, health, node};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn a_client_of_redis_without_the_cluster_key_cannot_inject_calls_or_frames() {
    let env = ClusterEnv::get();
    let mut backend = Backend::ok().await;
    let (a, b) = (node(&env, &backend).await, node(&env, &backend).await);
    let (mut ws, id) = client(&a, &mut backend).await;
    let node_a = health(&a).await["cluster"]["node"].as_u64().unwrap();
    // Someone on Redis, speaking the bus's own envelope without the key.
    let intruder = bus::connect(Some(&env.redis), &env.namespace, &bus::Background::new()).await.unwrap();

    // A forwarded PostToConnection, as another node would send it, then a genuine one through node b: the channel
    // has one order, so had the forgery been applied its text would arrive first.
    let body = base64::engine::general_purpose::STANDARD.encode("injected");
    let forged = serde_json::json!({
        "t": "request", "id": 7, "from": 999, "op": "Post", "conn": id, "stage": "prod", "body": body,
    });
    intruder.pubsub().publish(&format!("node:{node_a}"), Bytes::from(forged.to_string())).await.unwrap();
    post(&b.sdk("prod"), &id, "genuine").await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "genuine");

    // A room frame, then a genuine SendEvent: members see only the genuine one.
    let room = a.chat_sdk().create_room().send().await.unwrap();
    let arn = room.arn().unwrap().to_owned();
    let mut member = chat_join(&a, &chat_token(&b, &arn, "ann", false).await).await;
    let frame = r#"{"Type":"MESSAGE","Id":"x","RequestId":"","Content":"forged","SendTime":"2026-01-01T00:00:00Z","Sender":{"UserId":"admin","Attributes":{}}}"#;
    let forged = serde_json::json!({ "k": "frame", "frame": frame, "disconnect": "ann" });
    intruder.pubsub().publish(&format!("room:{}", room.id().unwrap()), Bytes::from(forged.to_string())).await.unwrap();
    b.chat_sdk().send_event().room_identifier(&arn).event_name("app:genuine").send().await.unwrap();
    assert_eq!(chat_frame(&mut member).await["EventName"], "app:genuine");

    let rejected = health(&a).await["cluster"]["rejected"].as_u64().unwrap();
    assert_eq!(rejected, 2, "both forgeries were dropped and counted");
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (SWITCHBOARD_TEST_POSTGRES_URL, SWITCHBOARD_TEST_REDIS_URL) and redis-server built with TLS"]
async fn nodes_reach_redis_over_tls_and_refuse_a_certificate_they_do_not_trust() {
    let mut env = ClusterEnv::get();
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert_file, key_file, ca_file) =
        (dir.path().join("redis.pem"), dir.path().join("redis.key"), dir.path().join("ca.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    std::fs::write(&ca_file, cert.cert.pem()).unwrap();
    let redis = PrivateRedis::start_tls(&cert_file, &key_file);
    env.redis = redis.url();
    assert!(env.redis.starts_with("rediss://"));

    // Without the certificate among its roots a node does not start: the bus is never reached in clear.
    let mut args = ServeArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.path().join("refused")),
        access_key_id: Some(AKID.to_owned()),
        secret_access_key: Some(SECRET.to_owned()),
        ..ServeArgs::default()
    };
    env.apply(&mut args);
    let refused = Server::start(Config::merge(args, FileConfig::default()).unwrap()).await;
    let Err(err) = refused else { panic!("a certificate nobody vouched for was accepted") };
    let err = format!("{err:#}");
    assert!(err.contains("cluster bus") && err.to_lowercase().contains("certificate"), "{err}");

    // With it, a cluster of two works across nodes over TLS.
    let mut backend = Backend::ok().await;
    let start = |backend: &Backend| {
        let url = backend.url();
        let (env, ca_file) = (env.clone(), ca_file.clone());
        async move {
            TestServer::start("", |a| {
                a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}"), format!("$default={url}")];
                env.apply(a);
                a.cluster.bus_ca_file = Some(ca_file);
            })
            .await
        }
    };
    let (a, b) = (start(&backend).await, start(&backend).await);
    let (mut ws, id) = client(&a, &mut backend).await;
    post(&b.sdk("prod"), &id, "over tls").await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "over tls");
    assert_eq!(health(&b).await["cluster"]["state"], "connected");
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}
