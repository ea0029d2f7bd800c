//! The fan-out hot path: queueing one shared message to N connections' outboxes, and making that message (its frame
//! header, encoded once for every recipient).

use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hub::{Connection, ConnectionInfo, Hub, HubConfig, Outbound, Scope};
use time::OffsetDateTime;

fn connections(hub: &Hub, n: usize) -> Vec<Arc<Connection>> {
    let scope = Scope::Chat { room_id: "room".into(), user_id: "user".into() };
    (0..n)
        .map(|_| {
            hub.new_connection(ConnectionInfo {
                scope: scope.clone(),
                connected_at: OffsetDateTime::now_utc(),
                source_ip: "127.0.0.1".to_owned(),
                user_agent: None,
            })
        })
        .collect()
}

fn fanout(c: &mut Criterion) {
    let hub = Hub::new(HubConfig::default());
    let message = Outbound::from("x".repeat(160));
    let mut group = c.benchmark_group("hub/deliver to N outboxes");
    for n in [1_000usize, 10_000] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_batched(
                || connections(&hub, n),
                |conns| {
                    for conn in &conns {
                        conn.deliver(message.clone());
                    }
                    conns
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub/make a text message");
    for size in [100usize, 1024] {
        let payload = hub::Utf8Bytes::from("x".repeat(size));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| std::hint::black_box(Outbound::text(payload.clone())))
        });
    }
    group.finish();
}

criterion_group!(benches, fanout, encode);
criterion_main!(benches);
