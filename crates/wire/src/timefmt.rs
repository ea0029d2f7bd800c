//! Timestamp formats used on the wire: RFC 3339 with milliseconds and `Z`, and the Common Log Format.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const RFC3339_MILLIS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

const CLF: &[BorrowedFormatItem<'static>] =
    format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");

/// `2020-04-30T20:10:33.236Z`: GetConnection's `connectedAt` and `lastActiveAt`, IVS Chat's `createTime`.
pub fn rfc3339_millis(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(RFC3339_MILLIS).unwrap_or_default()
}

/// `20/Jan/2024:11:55:00 +0000`: the Lambda event's `requestTime`.
pub fn common_log(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(CLF).unwrap_or_default()
}

/// Milliseconds since the Unix epoch: the Lambda event's `connectedAt` and `requestTimeEpoch`.
pub fn epoch_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats() {
        let t = datetime!(2024-01-20 11:55:00.453 UTC);
        assert_eq!(rfc3339_millis(t), "2024-01-20T11:55:00.453Z");
        assert_eq!(common_log(t), "20/Jan/2024:11:55:00 +0000");
        assert_eq!(epoch_millis(t), 1705751700453);
        let offset = datetime!(2024-01-20 12:55:00.000 +1);
        assert_eq!(rfc3339_millis(offset), "2024-01-20T11:55:00.000Z");
    }
}
