//! Bytes to text: the encodings spreadsheets and address books write.
//! A byte-order mark decides; then valid UTF-8 is taken as UTF-8; what
//! is left is a Windows code page, Cyrillic (1251) or Western (1252),
//! told apart by how the letters above ASCII fall (see [`cyrillic_likely`]).

use crate::{ErrorCode, ValidationError};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1251, WINDOWS_1252};

/// Text decoded from a file, and the encoding it was read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
}

/// Decodes `bytes`, in `label` when given (a WHATWG label such as
/// `windows-1251`, `cp1252`, `utf-8`), otherwise as detected.
pub fn decode(bytes: &[u8], label: Option<&str>) -> Result<Decoded, ValidationError> {
    let encoding = match label {
        Some(label) => Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            ValidationError::new(
                ErrorCode::InvalidValue,
                "encoding: not an encoding name; use utf-8, windows-1251, windows-1252 or another WHATWG label",
            )
        })?,
        None => detect(bytes),
    };
    // With a BOM, encoding_rs follows it whatever was asked: a BOM is certain.
    let (text, used, had_errors) = encoding.decode(bytes);
    if had_errors {
        return Err(ValidationError::new(
            ErrorCode::InvalidValue,
            format!("the file is not valid {}; name its encoding", used.name()),
        ));
    }
    Ok(Decoded { text: text.into_owned(), encoding: used.name() })
}

fn detect(bytes: &[u8]) -> &'static Encoding {
    if let Some((bom, _)) = Encoding::for_bom(bytes) {
        return bom;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    // UTF-16 without a BOM: every other byte of ASCII text is zero.
    let zeros_at = |parity: usize| bytes.iter().skip(parity).step_by(2).take(512).filter(|b| **b == 0).count();
    let sample = bytes.len().min(1024) / 2;
    if sample > 8 && zeros_at(1) * 10 > sample * 9 {
        return UTF_16LE;
    }
    if sample > 8 && zeros_at(0) * 10 > sample * 9 {
        return UTF_16BE;
    }
    if cyrillic_likely(bytes) {
        WINDOWS_1251
    } else {
        WINDOWS_1252
    }
}

/// In Cyrillic text written in windows-1251, letters are the bytes
/// 0xC0–0xFF and whole words are made of them; in Western text written
/// in windows-1252 the same bytes are accented letters, one or two in a
/// word of ASCII letters. So: most high bytes sit next to another.
fn cyrillic_likely(bytes: &[u8]) -> bool {
    let high = |b: u8| b >= 0xC0;
    let mut letters = 0usize;
    let mut paired = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if !high(*b) {
            continue;
        }
        letters += 1;
        let before = i > 0 && high(bytes[i - 1]);
        let after = bytes.get(i + 1).is_some_and(|n| high(*n));
        if before || after {
            paired += 1;
        }
    }
    letters > 0 && paired * 2 > letters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        encoding.encode(text).0.into_owned()
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let plain = decode("Ім'я,Прізвище\n".as_bytes(), None).unwrap();
        assert_eq!(plain.encoding, "UTF-8");
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("Name\n".as_bytes());
        let decoded = decode(&bom, None).unwrap();
        assert_eq!(decoded.text, "Name\n", "the BOM is not part of the text");
    }

    #[test]
    fn windows_1251_cyrillic_is_told_from_1252_western() {
        let cyrillic = encoded("Ім'я;Прізвище\nОлена;Коваленко\n", WINDOWS_1251);
        let decoded = decode(&cyrillic, None).unwrap();
        assert_eq!(decoded.encoding, "windows-1251");
        assert!(decoded.text.contains("Коваленко"));
        let western = encoded("First Name,Last Name\nJosé,Müller\nFrançois,Gößling\n", WINDOWS_1252);
        let decoded = decode(&western, None).unwrap();
        assert_eq!(decoded.encoding, "windows-1252");
        assert!(decoded.text.contains("Müller") && decoded.text.contains("Gößling"));
    }

    #[test]
    fn utf16_with_bom_and_an_explicit_label() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "Name\nOlena\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode(&bytes, None).unwrap().text, "Name\nOlena\n");
        let cyrillic = encoded("Олена", WINDOWS_1251);
        assert_eq!(decode(&cyrillic, Some("cp1251")).unwrap().text, "Олена");
        assert!(decode(b"x", Some("klingon")).is_err());
        assert!(decode(&[0x41, 0xFF, 0xFE, 0x41], Some("utf-8")).is_err(), "invalid UTF-8 named as UTF-8 is refused");
    }
}
