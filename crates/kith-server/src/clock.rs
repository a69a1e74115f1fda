//! Time as Kith keeps it: milliseconds since the Unix epoch in storage,
//! RFC 3339 with milliseconds in UTC on the wire.

use crate::error::{ApiError, ApiResult};
use kith_core::model::{parse_timestamp, unix_millis};
use kith_core::ErrorCode;

/// Milliseconds since the Unix epoch: the clock every record time uses.
pub fn now_millis() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// A stored time as a point in time (the epoch if it is out of range).
pub fn time_of(millis: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 in UTC with exactly three decimals, so every time the API
/// shows has one width and sorts as text in time order.
const API_TIME: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// A stored time as the API shows it.
pub fn rfc3339_millis(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(API_TIME).ok())
        .unwrap_or_default()
}

/// A configured number of seconds in milliseconds, saturating.
pub fn seconds_as_millis(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// An optional RFC 3339 query parameter as milliseconds; a bad one is `invalid_query`.
pub fn query_time(field: &str, raw: Option<&str>) -> ApiResult<Option<i64>> {
    raw.map(|r| {
        parse_timestamp(field, r).map(unix_millis).map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.detail))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_bad_ones_are_refused() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(1_796_119_200_250), "2026-12-01T10:00:00.250Z");
        // One width: text order is time order.
        assert!(rfc3339_millis(1_796_119_200_000) < rfc3339_millis(1_796_119_199_999 + 2));
        assert_eq!(query_time("from", Some("2026-12-01T10:00:00.250Z")).unwrap(), Some(1_796_119_200_250));
        assert_eq!(query_time("from", None).unwrap(), None);
        assert_eq!(query_time("from", Some("yesterday")).unwrap_err().code, ErrorCode::InvalidQuery);
        assert_eq!(seconds_as_millis(u64::MAX), i64::MAX);
        assert_eq!(seconds_as_millis(2), 2000);
    }
}
