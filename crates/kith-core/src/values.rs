//! Value types that parse once and stay valid. Error details name the rule,
//! never the rejected value.

use crate::error::{ErrorCode, ValidationError};
use rust_decimal::Decimal;
use unicode_normalization::UnicodeNormalization;

/// Normalises and checks an e-mail address: one `@`, a local part of at most
/// 64 characters, a domain of dot-separated labels with a non-numeric top
/// level. Invisible characters (zero-width spaces and joiners, soft hyphens,
/// direction marks, byte-order marks, other format characters) and controls
/// are refused: they would make one address look like another. The local
/// part is kept as written in NFC; the domain is mapped by UTS 46 (case,
/// full-width forms) and kept in its Unicode form.
pub fn parse_email(raw: &str) -> Result<String, ValidationError> {
    let bad = |why: &str| ValidationError::new(ErrorCode::InvalidEmail, why.to_string());
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 254 {
        return Err(bad("an e-mail address has 1 to 254 characters"));
    }
    if s.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(bad("an e-mail address may not hold invisible or control characters"));
    }
    let (local, domain) = s.rsplit_once('@').ok_or_else(|| bad("an e-mail address needs an @"))?;
    let local: String = local.nfc().collect();
    if local.is_empty() || local.chars().count() > 64 {
        return Err(bad("the part before @ has 1 to 64 characters"));
    }
    let forbidden = |c: char| c.is_whitespace() || "@\"(),:;<>[\\]".contains(c);
    if local.chars().any(forbidden) || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad("the part before @ holds a character or dot placement that is not allowed"));
    }
    let ascii = idna::domain_to_ascii(domain).map_err(|_| bad("the domain is not a valid domain name"))?;
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("the domain needs at least two labels, like example.org"));
    }
    for label in &labels {
        let ok_chars = label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if label.is_empty() || label.len() > 63 || !ok_chars || label.starts_with('-') || label.ends_with('-') {
            return Err(bad("each domain label has 1 to 63 letters, digits or inner hyphens"));
        }
    }
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Err(bad("the top-level domain cannot be numeric"));
    }
    let (domain, _) = idna::domain_to_unicode(&ascii);
    Ok(format!("{local}@{domain}"))
}

/// Characters that show as nothing, or as something else, in an address:
/// Unicode's format characters (Cf), variation selectors, the combining
/// grapheme joiner and the Hangul fillers.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{0600}'..='\u{0605}'
        | '\u{06DD}' | '\u{070F}' | '\u{08E2}' | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The form of an e-mail address used for exact lookup, blind indexes and
/// the suppression list: the local part NFKC-normalised and lower-cased
/// (compatibility forms such as full-width letters fold; a simple case
/// fold, not Unicode's full one), the domain as its ASCII (IDNA) form. Two
/// spellings a person would read as one address give one key.
pub fn email_lookup_key(email: &str) -> String {
    let email = email.trim();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email.nfkc().flat_map(char::to_lowercase).collect();
    };
    let local: String = local.nfkc().flat_map(char::to_lowercase).collect();
    let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.nfkc().flat_map(char::to_lowercase).collect());
    format!("{local}@{domain}")
}

/// Normalises a phone number to E.164 (`+` and 8 to 15 digits). Spaces,
/// dots, hyphens and parentheses are dropped; a leading `00` becomes `+`.
pub fn parse_phone(raw: &str) -> Result<String, ValidationError> {
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')).collect();
    let digits = compact.strip_prefix('+').or_else(|| compact.strip_prefix("00")).ok_or_else(|| {
        ValidationError::new(
            ErrorCode::InvalidPhone,
            "a phone number is written in international form, starting with + and the country code, like +380441234567",
        )
    })?;
    if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
        return Err(ValidationError::new(
            ErrorCode::InvalidPhone,
            "a phone number has a country code and 8 to 15 digits in all, like +380441234567",
        ));
    }
    Ok(format!("+{digits}"))
}

/// Money and quantities keep at most four decimal places, so they can be
/// stored exactly as integers of ten-thousandths.
pub const DECIMAL_SCALE: u32 = 4;
const MAX_ABS_UNITS: i64 = 900_000_000_000_000; // 9e14 units fit an i64 of ten-thousandths

/// Checks a decimal, keeping the scale it was written with ("12.50" stays
/// "12.50") unless trailing zeros push it past four places.
pub fn check_decimal(value: Decimal, allow_negative: bool) -> Result<Decimal, ValidationError> {
    let value = if value.scale() > DECIMAL_SCALE { value.normalize() } else { value };
    if value.scale() > DECIMAL_SCALE {
        return Err(ValidationError::new(ErrorCode::InvalidAmount, "at most four decimal places"));
    }
    if !allow_negative && value.is_sign_negative() && !value.is_zero() {
        return Err(ValidationError::new(ErrorCode::InvalidAmount, "must not be negative"));
    }
    if value.abs() > Decimal::from(MAX_ABS_UNITS) {
        return Err(ValidationError::new(ErrorCode::InvalidAmount, "is too large"));
    }
    Ok(value)
}

/// The decimal as a whole number of ten-thousandths, for sorting in SQL.
pub fn decimal_to_scaled(value: Decimal) -> i64 {
    let scaled = (value * Decimal::from(10_i64.pow(DECIMAL_SCALE))).trunc();
    i64::try_from(scaled).unwrap_or(if value.is_sign_negative() { i64::MIN } else { i64::MAX })
}

/// A staff identifier (a record's owner, a token's name). It is stored in
/// clear, so it is an identifier (letters, digits, `. _ @ + -`, at most 100),
/// never free text that could carry a customer's name.
pub fn parse_staff_id(raw: &str) -> Result<String, ValidationError> {
    let id = raw.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._@+-".contains(c);
    if id.is_empty() || id.len() > 100 || !id.chars().all(allowed) {
        return Err(ValidationError::new(
            ErrorCode::InvalidValue,
            "a staff identifier has 1 to 100 letters, digits or . _ @ + - (no spaces)",
        ));
    }
    Ok(id.to_string())
}

/// An ISO 4217 code: three letters, upper-cased.
pub fn parse_currency(raw: &str) -> Result<String, ValidationError> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(ValidationError::new(ErrorCode::InvalidCurrency, "a currency is a three-letter ISO 4217 code like EUR"))
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-cased.
pub fn parse_country(raw: &str) -> Result<String, ValidationError> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(ValidationError::new(ErrorCode::InvalidValue, "a country is a two-letter ISO 3166 code like UA"))
    }
}

/// Checks free text: a length bound in characters, no control characters
/// (line breaks and tabs allowed where `multiline`). Returns the text trimmed.
pub fn check_text(value: &str, max_chars: usize, multiline: bool) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max_chars {
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("at most {max_chars} characters")));
    }
    let allowed_control = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if trimmed.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "control characters are not allowed"));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spellings of one erased address that must all find it again.
    const VARIANTS: &[&str] = &[
        "Ol\u{e9}na@example.org",        // NFC
        "Ole\u{301}na@example.org",      // NFD
        "OL\u{c9}NA@EXAMPLE.ORG",        // upper case
        "\u{ff2f}l\u{e9}na@example.org", // full-width O
        "ol\u{e9}na@\u{ff45}xample.org", // full-width domain letter
        "ol\u{e9}na@example\u{ff0e}org", // full-width dot
        "  ol\u{e9}na@example.org  ",    // surrounding spaces
    ];

    #[test]
    fn spellings_of_one_address_share_one_lookup_key() {
        let key = email_lookup_key(&parse_email(VARIANTS[0]).unwrap());
        assert_eq!(key, "ol\u{e9}na@example.org");
        for variant in VARIANTS {
            let parsed = parse_email(variant).unwrap_or_else(|e| panic!("{variant:?}: {}", e.detail));
            assert_eq!(email_lookup_key(&parsed), key, "{variant:?}");
        }
        assert_eq!(email_lookup_key(&parse_email("ada@b\u{fc}cher.de").unwrap()), "ada@xn--bcher-kva.de");
    }

    #[test]
    fn invisible_and_control_characters_are_refused_in_addresses() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{00AD}',
            '\u{200E}',
            '\u{200F}',
            '\u{202E}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{0000}',
            '\u{001B}',
            '\u{FE0F}',
            '\u{E0041}',
            '\u{3164}',
        ] {
            for address in
                [format!("ol{c}ena@example.org"), format!("olena@exa{c}mple.org"), format!("{c}olena@example.org")]
            {
                assert!(parse_email(&address).is_err(), "{address:?}");
            }
        }
    }

    #[test]
    fn emails() {
        assert_eq!(parse_email(" Olena@Example.ORG ").unwrap(), "Olena@example.org");
        assert_eq!(parse_email("o.k+tag@пример.укр").unwrap(), "o.k+tag@пример.укр");
        for bad in
            ["", "plain", "a@b", "a@@b.org", "a b@c.org", "@c.org", "a@-c.org", "a@c.123", "a..b@c.org", "a@c..org"]
        {
            assert_eq!(parse_email(bad).unwrap_err().code, ErrorCode::InvalidEmail, "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(parse_phone("+380 44 123-45-67").unwrap(), "+380441234567");
        assert_eq!(parse_phone("0049 (30) 1234567").unwrap(), "+49301234567");
        for bad in ["", "12345", "+12", "+1234567890123456", "+38044abc4567", "0441234567", "+0441234567"] {
            assert_eq!(parse_phone(bad).unwrap_err().code, ErrorCode::InvalidPhone, "{bad}");
        }
    }

    #[test]
    fn decimals() {
        let d: Decimal = "19.9900".parse().unwrap();
        assert_eq!(check_decimal(d, false).unwrap().to_string(), "19.9900");
        assert_eq!(check_decimal("12.50".parse().unwrap(), false).unwrap().to_string(), "12.50");
        assert_eq!(decimal_to_scaled(d), 199_900);
        assert!(check_decimal("0.00001".parse().unwrap(), false).is_err());
        assert!(check_decimal("-1".parse().unwrap(), false).is_err());
        assert!(check_decimal("1e15".parse::<f64>().map(|f| Decimal::try_from(f).unwrap()).unwrap(), false).is_err());
    }

    #[test]
    fn codes_and_text() {
        assert_eq!(parse_staff_id(" sales.olena@acme ").unwrap(), "sales.olena@acme");
        assert!(parse_staff_id("Olena Kovalenko").is_err());
        assert!(parse_staff_id("").is_err());
        assert_eq!(parse_currency("eur").unwrap(), "EUR");
        assert!(parse_currency("EURO").is_err());
        assert_eq!(parse_country("ua").unwrap(), "UA");
        assert!(check_text("a\u{0}b", 10, true).is_err());
        assert!(check_text("line\nbreak", 20, true).is_ok());
        assert!(check_text("line\nbreak", 20, false).is_err());
        assert!(check_text(&"x".repeat(11), 10, false).is_err());
    }
}
