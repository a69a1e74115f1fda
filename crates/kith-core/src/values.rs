//! Value types that parse once and stay valid. Error details name the rule,
//! never the rejected value.

use crate::error::{ErrorCode, ValidationError};
use rust_decimal::Decimal;

/// Normalises and checks an e-mail address: one `@`, a local part of at most
/// 64 characters, a domain of dot-separated labels with a non-numeric top
/// level. The domain is lower-cased; the local part is kept as written.
pub fn parse_email(raw: &str) -> Result<String, ValidationError> {
    let bad = |why: &str| ValidationError::new(ErrorCode::InvalidEmail, why.to_string());
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 254 {
        return Err(bad("an e-mail address has 1 to 254 characters"));
    }
    let (local, domain) = s.rsplit_once('@').ok_or_else(|| bad("an e-mail address needs an @"))?;
    if local.is_empty() || local.chars().count() > 64 {
        return Err(bad("the part before @ has 1 to 64 characters"));
    }
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "@\"(),:;<>[\\]".contains(c);
    if local.chars().any(forbidden) || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad("the part before @ holds a character or dot placement that is not allowed"));
    }
    let domain = domain.to_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("the domain needs at least two labels, like example.org"));
    }
    for label in &labels {
        let ok_chars = label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if label.is_empty() || label.chars().count() > 63 || !ok_chars || label.starts_with('-') || label.ends_with('-')
        {
            return Err(bad("each domain label has 1 to 63 letters, digits or inner hyphens"));
        }
    }
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Err(bad("the top-level domain cannot be numeric"));
    }
    Ok(format!("{local}@{domain}"))
}

/// The form of an e-mail address used for exact lookup: lower case throughout.
pub fn email_lookup_key(email: &str) -> String {
    email.trim().to_lowercase()
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
