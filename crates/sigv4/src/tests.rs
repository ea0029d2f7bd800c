//! Unit tests of the canonical-request pieces and parsers (black-box tests live in `tests/verify.rs`).

use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use crate::canonical::{CanonicalRequest, QueryPair, decode_component, key_is, parse_query, sort_query};
use crate::error::SigV4Error;
use crate::parse::{AuthorizationHeader, Scope, format_amz_date, parse_amz_date, parse_http_date};
use crate::sign::{StringToSign, derive_signing_key as signing_key};

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    map
}

/// The canonical request for `path`/`query` with one signed `host` header.
fn canonical(path: &str, query: &str) -> String {
    let map = headers(&[("host", "h")]);
    let mut pairs = parse_query(query);
    sort_query(&mut pairs);
    CanonicalRequest {
        method: "GET",
        raw_path: path,
        query: &pairs,
        signed_headers: "host",
        headers: &map,
        authority: None,
        payload_hash: "-",
    }
    .text()
}

fn uri(path: &str) -> String {
    canonical(path, "").lines().nth(1).unwrap().to_owned()
}

fn query(raw: &str) -> String {
    canonical("/", raw).lines().nth(2).unwrap().to_owned()
}

#[test]
fn vector_a_canonical_request_matches_reference() {
    let map = headers(&[
        ("host", "abcdef1234.execute-api.us-east-1.amazonaws.com"),
        ("x-amz-date", "20240101T000000Z"),
        ("user-agent", "not signed"),
    ]);
    let body_hash = hex::encode(Sha256::digest(b"hello"));
    let creq = CanonicalRequest {
        method: "POST",
        raw_path: "/prod/@connections/L0SM9cOFvHcCIhw%3D",
        query: &[],
        signed_headers: "host;x-amz-date",
        headers: &map,
        authority: None,
        payload_hash: &body_hash,
    };
    let expected = "POST\n/prod/%40connections/L0SM9cOFvHcCIhw%253D\n\nhost:abcdef1234.execute-api.us-east-1.amazonaws.com\nx-amz-date:20240101T000000Z\n\nhost;x-amz-date\n2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    assert_eq!(creq.text(), expected);
    let digest = creq.digest();
    assert_eq!(hex::encode(digest), "23202699119aa3fe83876e7300fb87b90e20883698adfab885fa43eaac3c31c5");
    let sts =
        StringToSign { amz_date: "20240101T000000Z", date: "20240101", region: "us-east-1", service: "execute-api" };
    assert_eq!(
        sts.text(&digest),
        "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/execute-api/aws4_request\n23202699119aa3fe83876e7300fb87b90e20883698adfab885fa43eaac3c31c5"
    );
    let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20240101", "us-east-1", "execute-api");
    let tag = hmac::Mac::finalize(sts.mac(&key, &digest)).into_bytes();
    assert_eq!(hex::encode(tag), "8502aace81bd26406ea7be5d8e4159aba37da71a338efb8228d88e8601e2cd4a");
}

#[test]
fn signing_key_matches_aws_documentation_example() {
    // From AWS's "Examples of how to derive a signing key for Signature Version 4".
    let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam");
    assert_eq!(hex::encode(key), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    // A secret longer than the stack buffer takes the heap path and still works.
    let long = "x".repeat(500);
    assert_eq!(signing_key(&long, "20240101", "r", "s"), signing_key(&long, "20240101", "r", "s"));
}

#[test]
fn canonical_uri_double_encodes_the_raw_path() {
    assert_eq!(uri("/prod/@connections/L0SM9cOFvHcCIhw%3D"), "/prod/%40connections/L0SM9cOFvHcCIhw%253D");
    assert_eq!(uri("/prod/%40connections/abc%3D"), "/prod/%2540connections/abc%253D");
    assert_eq!(
        uri("/tags/arn%3Aaws%3Aivschat%3Aus-west-2%3A123456789012%3Aroom%2FabcdEFGH1234"),
        "/tags/arn%253Aaws%253Aivschat%253Aus-west-2%253A123456789012%253Aroom%252FabcdEFGH1234"
    );
    assert_eq!(uri("/a b/c+d/~x_y-z.1"), "/a%20b/c%2Bd/~x_y-z.1");
    assert_eq!(uri("/\u{2713}"), "/%E2%9C%93");
    assert_eq!(uri("/file.txt"), "/file.txt");
    assert_eq!(uri("/trailing/"), "/trailing/");
}

#[test]
fn canonical_uri_normalises_like_the_rust_sdk() {
    for (raw, expected) in [
        ("", "/"),
        ("/", "/"),
        ("*", "/%2A"),
        ("a/b", "/a/b"),
        ("//a//b//", "/a/b/"),
        ("/a/./b/../c", "/a/c"),
        ("/a/b/..", "/a/"),
        ("/a/.", "/a/"),
        ("/..", "/"),
        ("/../../a", "/a"),
        ("/a/..b/.c", "/a/..b/.c"),
        ("/%2E%2E/a", "/%252E%252E/a"),
    ] {
        assert_eq!(uri(raw), expected, "raw path {raw:?}");
    }
}

#[test]
fn canonical_query_decodes_reencodes_and_sorts() {
    assert_eq!(query(""), "");
    assert_eq!(query("b=2&a=1&a=0"), "a=0&a=1&b=2");
    assert_eq!(query("novalue&k=v"), "k=v&novalue=");
    assert_eq!(query("a=b+c&d=%7e&e=%2f%2F"), "a=b%20c&d=~&e=%2F%2F");
    assert_eq!(query("x=%zz&y=%4"), "x=%25zz&y=%254");
    assert_eq!(query("&&a=1&&"), "a=1");
    assert_eq!(query("k=a=b"), "k=a%3Db");
    assert_eq!(query("tagKeys=k2&tagKeys=k1"), "tagKeys=k1&tagKeys=k2");
    // Sorted by the encoded form: '%' (0x25) sorts before letters.
    assert_eq!(query("a=b&a=%20"), "a=%20&a=b");
    assert_eq!(query("B=1&a=2&_=3"), "B=1&_=3&a=2");
    assert_eq!(query("%C3%A9=1&k=%FF"), "%C3%A9=1&k=%FF");
}

#[test]
fn canonical_headers_trim_collapse_and_join() {
    let map = headers(&[("host", "  example.com  "), ("x-multi", "a"), ("x-multi", "  b   c\t\td  "), ("x-empty", "")]);
    let text = CanonicalRequest {
        method: "GET",
        raw_path: "/",
        query: &[],
        signed_headers: "host;x-absent;x-empty;x-multi",
        headers: &map,
        authority: Some("ignored"),
        payload_hash: "-",
    }
    .text();
    assert_eq!(
        text,
        "GET\n/\n\nhost:example.com\nx-absent:\nx-empty:\nx-multi:a,b c d\n\nhost;x-absent;x-empty;x-multi\n-"
    );
}

#[test]
fn canonical_host_falls_back_to_authority() {
    let map = HeaderMap::new();
    let text = CanonicalRequest {
        method: "GET",
        raw_path: "/",
        query: &[],
        signed_headers: "host",
        headers: &map,
        authority: Some("127.0.0.1:18765"),
        payload_hash: "-",
    }
    .text();
    assert_eq!(text, "GET\n/\n\nhost:127.0.0.1:18765\n\nhost\n-");
}

#[test]
fn long_canonical_requests_stream_through_the_buffer() {
    let long_value = "v".repeat(10_000);
    let map = headers(&[("host", &long_value), ("x-a", "1")]);
    let creq = CanonicalRequest {
        method: "GET",
        raw_path: "/p%3D",
        query: &[QueryPair { key: "k", value: "%20" }],
        signed_headers: "host;x-a",
        headers: &map,
        authority: None,
        payload_hash: "-",
    };
    let text = creq.text();
    assert_eq!(text, format!("GET\n/p%253D\nk=%20\nhost:{long_value}\nx-a:1\n\nhost;x-a\n-"));
    assert_eq!(creq.digest(), <[u8; 32]>::from(Sha256::digest(text.as_bytes())));
}

#[test]
fn query_keys_and_values_decode() {
    assert!(key_is("X-Amz-Signature", "X-Amz-Signature"));
    assert!(key_is("x-amz-signature", "X-Amz-Signature"));
    assert!(key_is("X%2DAmz-Signature", "X-Amz-Signature"));
    assert!(!key_is("X-Amz-Signatures", "X-Amz-Signature"));
    assert!(!key_is("X-Amz-Signatur", "X-Amz-Signature"));
    assert_eq!(decode_component("AKID%2F20240101%2Fus-east-1"), "AKID/20240101/us-east-1");
    assert_eq!(decode_component("a+b%2B"), "a b+");
    assert_eq!(decode_component("%FF"), "\u{FFFD}");
}

#[test]
fn authorization_header_parsing() {
    let h = AuthorizationHeader::parse(
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
    )
    .unwrap();
    assert_eq!(h.algorithm, "AWS4-HMAC-SHA256");
    assert_eq!(h.credential, Some("AKID/20240101/us-east-1/execute-api/aws4_request"));
    assert_eq!(h.signed_headers, Some("host;x-amz-date"));
    assert_eq!(h.signature, Some("abc"));
    assert!(!h.missing().any());

    // Commas without spaces, as some clients send.
    let h = AuthorizationHeader::parse("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=s").unwrap();
    assert_eq!(h.signed_headers, Some("host"));

    let h = AuthorizationHeader::parse("eyJhbGciOiJIUzI1NiJ9.e30.sig").unwrap();
    let missing = h.missing();
    assert!(missing.credential && missing.signature && missing.signed_headers);

    assert_eq!(
        AuthorizationHeader::parse("Bearer token"),
        Err(SigV4Error::MalformedAuthorizationPair { pair: "token".into(), authorization: "Bearer token".into() })
    );
    assert_eq!(
        AuthorizationHeader::parse("Credential=a/b/c/d/e, SignedHeaders=host, Signature=s"),
        Err(SigV4Error::MissingAlgorithm)
    );
    assert!(AuthorizationHeader::parse("").is_ok());
}

#[test]
fn scope_parsing() {
    let s = Scope::parse("AKID/20240101/us-east-1/ivschat/aws4_request").unwrap();
    assert_eq!((s.access_key_id, s.date, s.region, s.service), ("AKID", "20240101", "us-east-1", "ivschat"));
    assert!(matches!(Scope::parse("AKID/20240101/us-east-1/ivschat"), Err(SigV4Error::MalformedCredential { .. })));
    assert!(matches!(
        Scope::parse("A/K/ID/20240101/us-east-1/ivschat/aws4_request"),
        Err(SigV4Error::MalformedCredential { .. })
    ));
    assert_eq!(
        Scope::parse("AKID/20240101/us-east-1/ivschat/aws5_request"),
        Err(SigV4Error::WrongTerminator { terminator: "aws5_request".into() })
    );
}

#[test]
fn dates() {
    assert_eq!(parse_amz_date("20240101T000000Z"), Some(1_704_067_200));
    assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
    for bad in [
        "20230229T000000Z",
        "20240101T240000Z",
        "20240101T000060Z",
        "2024-01-01T00:00:00Z",
        "20240101T000000",
        "2024010१T000000Z",
        "",
    ] {
        assert_eq!(parse_amz_date(bad), None, "{bad:?}");
    }
    assert_eq!(parse_http_date("Mon, 01 Jan 2024 00:00:00 GMT"), Some(1_704_067_200));
    assert_eq!(parse_http_date("Mon, 01 Foo 2024 00:00:00 GMT"), None);
    assert_eq!(parse_http_date("Mon, 01 Jan 2024 00:00:00 UTC"), None);
    assert_eq!(format_amz_date(1_704_067_200), "20240101T000000Z");
    assert_eq!(format_amz_date(1_559_555_087), "20190603T094447Z");
    assert_eq!(format_amz_date(i64::MAX), i64::MAX.to_string());
}
