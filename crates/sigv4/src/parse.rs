//! Parsing of the `Authorization` header, the credential scope and SigV4 timestamps.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::error::{MissingParameters, SigV4Error};

/// The three parameters of an `Authorization: AWS4-HMAC-SHA256 …` header, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AuthorizationHeader<'a> {
    pub(crate) algorithm: &'a str,
    pub(crate) credential: Option<&'a str>,
    pub(crate) signed_headers: Option<&'a str>,
    pub(crate) signature: Option<&'a str>,
}

impl<'a> AuthorizationHeader<'a> {
    /// Splits `ALGORITHM k=v, k=v, …`. Parts without `=` are refused the way AWS refuses them.
    pub(crate) fn parse(value: &'a str) -> Result<Self, SigV4Error> {
        let trimmed = value.trim_matches(|c: char| c == ' ' || c == '\t');
        let (algorithm, params) = match trimmed.find([' ', '\t']) {
            Some(at) => trimmed.split_at(at),
            None => (trimmed, ""),
        };
        if algorithm.contains('=') {
            return Err(SigV4Error::MissingAlgorithm);
        }
        let mut header = Self { algorithm, credential: None, signed_headers: None, signature: None };
        for part in params.split(',') {
            let part = part.trim_matches(|c: char| c == ' ' || c == '\t');
            if part.is_empty() {
                continue;
            }
            let Some((key, val)) = part.split_once('=') else {
                return Err(SigV4Error::MalformedAuthorizationPair {
                    pair: part.to_owned(),
                    authorization: value.to_owned(),
                });
            };
            let slot = match key.trim_end_matches([' ', '\t']) {
                "Credential" => &mut header.credential,
                "SignedHeaders" => &mut header.signed_headers,
                "Signature" => &mut header.signature,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(val.trim_start_matches([' ', '\t']));
            }
        }
        Ok(header)
    }

    /// Which parameters are missing (the date is checked by the caller).
    pub(crate) fn missing(&self) -> MissingParameters {
        MissingParameters {
            credential: self.credential.is_none(),
            signature: self.signature.is_none(),
            signed_headers: self.signed_headers.is_none(),
            date: false,
        }
    }
}

/// `AKID/YYYYMMDD/REGION/SERVICE/aws4_request`, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope<'a> {
    pub(crate) access_key_id: &'a str,
    pub(crate) date: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

impl<'a> Scope<'a> {
    /// Splits a credential; it must have exactly five `/`-separated elements ending in `aws4_request`.
    pub(crate) fn parse(credential: &'a str) -> Result<Self, SigV4Error> {
        let mut parts = credential.split('/');
        let (Some(access_key_id), Some(date), Some(region), Some(service), Some(terminator), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SigV4Error::MalformedCredential { credential: credential.to_owned() });
        };
        if terminator != "aws4_request" {
            return Err(SigV4Error::WrongTerminator { terminator: terminator.to_owned() });
        }
        Ok(Self { access_key_id, date, region, service })
    }
}

fn digits<const N: usize>(bytes: &[u8]) -> Option<u32> {
    if bytes.len() != N {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

fn unix_seconds(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp())
}

/// Parses `YYYYMMDDTHHMMSSZ` into Unix seconds.
pub(crate) fn parse_amz_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    unix_seconds(
        digits::<4>(b.get(0..4)?)?,
        digits::<2>(b.get(4..6)?)?,
        digits::<2>(b.get(6..8)?)?,
        digits::<2>(b.get(9..11)?)?,
        digits::<2>(b.get(11..13)?)?,
        digits::<2>(b.get(13..15)?)?,
    )
}

/// Parses an HTTP `Date` header in IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds.
pub(crate) fn parse_http_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 29 || b.get(3..5) != Some(b", ") || b.get(25..29) != Some(b" GMT") {
        return None;
    }
    let month = match b.get(8..11)? {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    if b.get(7) != Some(&b' ')
        || b.get(11) != Some(&b' ')
        || b.get(16) != Some(&b' ')
        || b.get(19) != Some(&b':')
        || b.get(22) != Some(&b':')
    {
        return None;
    }
    unix_seconds(
        digits::<4>(b.get(12..16)?)?,
        month,
        digits::<2>(b.get(5..7)?)?,
        digits::<2>(b.get(17..19)?)?,
        digits::<2>(b.get(20..22)?)?,
        digits::<2>(b.get(23..25)?)?,
    )
}

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ` into a fixed buffer; `None` outside years 0–9999.
pub(crate) fn amz_date_bytes(unix: i64) -> Option<[u8; 16]> {
    let t = OffsetDateTime::from_unix_timestamp(unix).ok()?;
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut out = *b"00000000T000000Z";
    let fields: [(usize, u32, usize); 6] = [
        (0, year, 4),
        (4, u32::from(u8::from(t.month())), 2),
        (6, u32::from(t.day()), 2),
        (9, u32::from(t.hour()), 2),
        (11, u32::from(t.minute()), 2),
        (13, u32::from(t.second()), 2),
    ];
    for (start, mut value, width) in fields {
        for slot in out.get_mut(start..start + width)?.iter_mut().rev() {
            *slot = b'0' + u8::try_from(value % 10).ok()?;
            value /= 10;
        }
    }
    Some(out)
}

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ` for messages (falls back to the raw number).
pub(crate) fn format_amz_date(unix: i64) -> String {
    match amz_date_bytes(unix) {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => unix.to_string(),
    }
}
