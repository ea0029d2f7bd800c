//! Route selection: evaluating the route selection expression on each client message.

use apigw::selection::SelectionExpression;
use criterion::{Criterion, criterion_group, criterion_main};

fn selection(c: &mut Criterion) {
    let default = SelectionExpression::parse("$request.body.action").unwrap();
    let template = SelectionExpression::parse("${request.body.service}/${request.body.op.name}").unwrap();
    let message =
        r#"{"action":"sendmessage","data":"bench:1750000000000000:0000000001:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;
    let nested =
        r#"{"service":"chat","op":{"name":"send","args":[1,2,3]},"data":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;
    assert_eq!(default.evaluate(message).as_deref(), Some("sendmessage"));
    assert_eq!(template.evaluate(nested).as_deref(), Some("chat/send"));
    c.bench_function("apigw/select $request.body.action", |b| {
        b.iter(|| default.evaluate(std::hint::black_box(message)))
    });
    c.bench_function("apigw/select template, nested", |b| b.iter(|| template.evaluate(std::hint::black_box(nested))));
    c.bench_function("apigw/select non-JSON body", |b| {
        b.iter(|| default.evaluate(std::hint::black_box("hello, this is not JSON at all")))
    });
}

criterion_group!(benches, selection);
criterion_main!(benches);
