//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1,
//! 30-second steps, six digits, as every authenticator app computes them.
//! Verification accepts one step either side for clock drift and returns
//! the step that matched, so the caller can refuse it (and every earlier
//! step) the next time: a code works once.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use zeroize::Zeroizing;

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one.
pub const WINDOW: u64 = 1;

/// A new 160-bit secret (RFC 4226's recommended length).
pub fn generate_secret() -> Zeroizing<Vec<u8>> {
    let mut secret = Zeroizing::new(vec![0u8; 20]);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The step a Unix time falls in.
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// The code of one step (RFC 4226 dynamic truncation).
pub fn code_at(secret: &[u8], step: u64) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:06}", binary % 10u32.pow(DIGITS))
}

/// The step within the window around `unix_seconds` whose code is `code`
/// and that is later than `after` (the last step accepted), if any.
pub fn verify(secret: &[u8], code: &str, unix_seconds: u64, after: Option<u64>) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_seconds);
    let mut matched = None;
    for step in now.saturating_sub(WINDOW)..=now + WINDOW {
        // Every candidate is computed and compared, so the time taken does
        // not tell which one matched.
        if crate::secrets::constant_time_eq(code_at(secret, step).as_bytes(), code.as_bytes())
            && after.is_none_or(|last| step > last)
        {
            matched = Some(step);
        }
    }
    matched
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(char::from(BASE32[((bits >> (35 - i * 5)) & 31) as usize]));
        }
    }
    out
}

/// Decodes unpadded (or padded) base32, ignoring case and spaces.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32.iter().position(|b| char::from(*b) == c.to_ascii_uppercase())? as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads from a QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => char::from(b).to_string(),
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the last six digits of the eight).
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_at(secret, step_at(time)), code, "at {time}");
        }
    }

    #[test]
    fn a_step_is_accepted_once_and_drift_is_tolerated() {
        let secret = generate_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, step_at(now));
        let step = verify(&secret, &code, now, None).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(step)), None, "replay");
        let earlier = code_at(&secret, step_at(now) - 1);
        assert_eq!(verify(&secret, &earlier, now, Some(step)), None, "an earlier step after a later one");
        assert!(verify(&secret, &code_at(&secret, step_at(now) + 1), now, None).is_some(), "one step ahead");
        assert!(verify(&secret, &code_at(&secret, step_at(now) + 2), now, None).is_none(), "two steps ahead");
        assert!(verify(&secret, "12345", now, None).is_none());
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        let secret = generate_secret();
        assert_eq!(base32_decode(&base32(&secret)).unwrap(), secret.to_vec());
        assert!(otpauth_uri("Kith", "a@b.org", &secret).starts_with("otpauth://totp/Kith:a@b.org?secret="));
    }
}
