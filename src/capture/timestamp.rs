//! Capture timestamps: nanoseconds since the Unix epoch, wide enough for any
//! pcapng tick count, formatted as RFC 3339 UTC with microseconds.

use std::fmt;

/// A packet time as nanoseconds since 1970-01-01T00:00:00Z.
///
/// 128 bits because a pcapng timestamp is a 64-bit tick count at up to
/// picosecond resolution plus a 64-bit offset; real damaged files (see the
/// corpus) carry values far past 2262, where an `i64` of nanoseconds ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i128);

impl Timestamp {
    /// From whole seconds and a sub-second count in units of `10^-exp10` s.
    /// A fraction at or above one second (seen in damaged files) simply
    /// carries into the seconds.
    #[inline]
    pub fn from_parts(secs: i128, frac: u64, frac_per_sec: u64) -> Self {
        // Whole-u64 arithmetic (no 128-bit division per packet): `frac`
        // comes from a 32-bit field, so the products fit.
        let nanos = match frac_per_sec {
            1_000_000_000 => frac,
            1_000_000 => frac * 1_000,
            f if f >= 1_000_000_000 => frac / (f / 1_000_000_000),
            f => frac.saturating_mul(1_000_000_000 / f.max(1)),
        };
        Timestamp(secs * 1_000_000_000 + i128::from(nanos))
    }

    /// The earlier of two optional times (absent times are ignored).
    pub fn earliest(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    /// The later of two optional times (absent times are ignored).
    pub fn latest(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        }
    }

    /// Whole seconds (floor) and nanoseconds within the second.
    pub fn split(self) -> (i128, u32) {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000) as u32;
        (secs, nanos)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with microseconds, e.g. `2020-09-21T13:09:43.877903Z`.
    /// Years outside 0000-9999 (only in damaged captures) keep their digits
    /// and sign so that nothing is hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secs, nanos) = self.split();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (sod / 3600, sod / 60 % 60, sod % 60);
        if (0..=9999).contains(&y) {
            write!(f, "{y:04}")?;
        } else {
            write!(f, "{y:+}")?;
        }
        write!(
            f,
            "-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z",
            nanos / 1000
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i128) -> (i128, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_microseconds() {
        let t = Timestamp::from_parts(1_600_708_183, 877_903, 1_000_000);
        assert_eq!(t.to_string(), "2020-09-21T17:09:43.877903Z");
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
        // 2^32 seconds: the pcapng file in the corpus that passes 2106.
        let t = Timestamp::from_parts(4_294_967_296, 0, 1_000_000);
        assert_eq!(t.to_string(), "2106-02-07T06:28:16.000000Z");
        // Leap day.
        let t = Timestamp::from_parts(951_782_400, 0, 1);
        assert_eq!(t.to_string(), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn fraction_over_one_second_carries() {
        let t = Timestamp::from_parts(10, 1_000_000, 1_000_000);
        assert_eq!(t, Timestamp(11_000_000_000));
    }

    #[test]
    fn nanosecond_and_picosecond_fractions() {
        assert_eq!(Timestamp::from_parts(1, 5, 1_000_000_000).0, 1_000_000_005);
        assert_eq!(
            Timestamp::from_parts(1, 5_000, 1_000_000_000_000).0,
            1_000_000_005
        );
    }
}
