//! Small pieces of wording and encoding that several reports share.

/// A count with its noun: "1 finding", "3 findings".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text` with every byte percent-encoded except the unreserved ones of
/// RFC 3986 (letters, digits, `-._~`) and those in `keep`.
pub(crate) fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A count with thousands separators when it has five digits or more
/// (`12,345`; `1234` stays as it is, as style guides write it).
pub fn grouped(v: u64) -> String {
    let digits = v.to_string();
    if digits.len() < 5 {
        return digits;
    }
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod grouped_tests {
    use super::grouped;

    #[test]
    fn thousands_are_grouped_from_five_digits() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(9999), "9999");
        assert_eq!(grouped(10_000), "10,000");
        assert_eq!(grouped(792_408), "792,408");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
    }
}
