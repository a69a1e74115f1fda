//! vCard files as phones and mail programs export them: many cards in one
//! file, version 2.1, 3.0 (RFC 2426) or 4.0 (RFC 6350); folded lines,
//! groups (`item1.EMAIL`), parameters in either style (`TYPE=work` or
//! 2.1's bare `WORK`), backslash escapes, quoted-printable values and
//! structured N, ADR, ORG. Each card becomes cells, as a spreadsheet row
//! would: the property is the column.

use super::headers::{AddressPart, Target};
use super::Cell;
use crate::{ErrorCode, ValidationError};

/// The most values one card may hold (a phone's cards hold a few dozen).
const MAX_CELLS: usize = 1000;

/// One card: its number in the file (from 1) and its cells.
pub type Card = (usize, Vec<Cell>);

/// A content line split into its parts.
struct Property {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

pub fn read(text: &str) -> Result<Vec<Card>, ValidationError> {
    let mut cards = Vec::new();
    let mut current: Option<Vec<Cell>> = None;
    for line in unfold(text) {
        let Some(property) = split(&line) else { continue };
        match (property.name.as_str(), current.as_mut()) {
            ("BEGIN", None) if property.value.eq_ignore_ascii_case("VCARD") => current = Some(Vec::new()),
            ("END", Some(_)) if property.value.eq_ignore_ascii_case("VCARD") => {
                if cards.len() == super::table::MAX_ROWS {
                    return Err(ValidationError::new(
                        ErrorCode::InvalidValue,
                        format!("at most {} cards in one file", super::table::MAX_ROWS),
                    ));
                }
                cards.push((cards.len() + 1, current.take().unwrap_or_default()));
            }
            (_, Some(cells)) => {
                let found = cells_of(&property, cells.len());
                cells.extend(found.into_iter().filter(|c| !c.value.is_empty()));
                if cells.len() > MAX_CELLS {
                    return Err(ValidationError::new(
                        ErrorCode::InvalidValue,
                        format!("card {}: more than {MAX_CELLS} values", cards.len() + 1),
                    ));
                }
            }
            _ => {}
        }
    }
    if current.is_some() {
        return Err(ValidationError::new(
            ErrorCode::InvalidValue,
            format!("card {}: BEGIN:VCARD without END:VCARD", cards.len() + 1),
        ));
    }
    if cards.is_empty() {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "the file holds no BEGIN:VCARD ... END:VCARD"));
    }
    Ok(cards)
}

/// Joins folded lines: a line break followed by a space or tab continues
/// the line (RFC 6350 3.2), and a quoted-printable value ending in `=`
/// continues on the next line (vCard 2.1).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut soft_break = false;
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (lines.last_mut(), raw.chars().next()) {
            (Some(last), _) if soft_break => {
                last.pop(); // the `=`
                last.push_str(raw.trim_start());
            }
            (Some(last), Some(' ' | '\t')) => last.push_str(&raw[1..]),
            _ => lines.push(raw.to_string()),
        }
        let last = lines.last().map(String::as_str).unwrap_or_default();
        soft_break = last.ends_with('=') && last.to_ascii_uppercase().contains("QUOTED-PRINTABLE");
    }
    lines
}

/// `group.NAME;param=value;BARE:value` (the group is dropped; quoted
/// parameter values may hold `;` and `:`).
fn split(line: &str) -> Option<Property> {
    let mut quoted = false;
    let colon = line.char_indices().find(|&(_, c)| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ':' && !quoted
    })?;
    let (head, value) = (&line[..colon.0], &line[colon.0 + 1..]);
    let mut parts = head.split(';');
    let name = parts.next()?.rsplit('.').next()?.trim().to_ascii_uppercase();
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_uppercase(), v.trim().trim_matches('"').to_string()),
            None => ("TYPE".into(), p.trim().to_string()),
        })
        .collect();
    Some(Property { name, params, value: value.to_string() })
}

impl Property {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value with quoted-printable undone, in its components (split at
    /// unescaped `;`), each unescaped.
    fn components(&self) -> Vec<String> {
        let raw = match self.param("ENCODING").map(str::to_ascii_uppercase).as_deref() {
            Some("QUOTED-PRINTABLE") => quoted_printable(&self.value),
            _ => self.value.clone(),
        };
        split_unescaped(&raw, ';').into_iter().map(|c| unescape(&c)).collect()
    }
}

/// `position` (the number of cells of the card before this property)
/// tells one ADR of a card from another.
fn cells_of(p: &Property, position: usize) -> Vec<Cell> {
    let cell = |target: Target, value: &str| Cell { column: p.name.clone(), target, value: value.trim().to_string() };
    let parts = p.components();
    let first = parts.first().map(String::as_str).unwrap_or_default();
    match p.name.as_str() {
        "FN" => vec![cell(Target::FullName, &parts.join(";"))],
        "N" => {
            let at = |i: usize| parts.get(i).map(String::as_str).unwrap_or_default();
            vec![cell(Target::FamilyName, at(0)), cell(Target::GivenName, at(1)), cell(Target::MiddleName, at(2))]
        }
        "EMAIL" => vec![cell(Target::Emails, first)],
        "TEL" => vec![cell(Target::Phones, first.strip_prefix("tel:").unwrap_or(first))],
        "ADR" => {
            // Post office box; extended address; street; locality; region; postal code; country.
            let group = format!("adr{position}");
            let at = |i: usize| parts.get(i).map(String::as_str).unwrap_or_default();
            let street = [at(0), at(1), at(2)].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>();
            let part = |part: AddressPart, value: &str| cell(Target::Address(group.clone(), part), value);
            vec![
                part(AddressPart::Street, &street.join(", ")),
                part(AddressPart::City, at(3)),
                part(AddressPart::Region, at(4)),
                part(AddressPart::PostalCode, at(5)),
                part(AddressPart::Country, at(6)),
            ]
        }
        "BDAY" => vec![cell(Target::Birthday, &vcard_date(first))],
        "ORG" => vec![cell(Target::Company, first)],
        "TITLE" => vec![cell(Target::JobTitle, &parts.join(";"))],
        "NOTE" => vec![cell(Target::Notes, &parts.join(";"))],
        "CATEGORIES" => vec![cell(Target::Tags, &parts.join(";"))],
        _ => Vec::new(),
    }
}

/// `19900401`, `1990-04-01`, `1990-04-01T00:00:00Z` as `1990-04-01`;
/// anything else (a date without a year, `--0401`) as written, for the
/// date rule to judge.
fn vcard_date(raw: &str) -> String {
    let day = raw.split('T').next().unwrap_or(raw);
    if day.len() == 8 && day.chars().all(|c| c.is_ascii_digit()) {
        format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..])
    } else {
        day.to_string()
    }
}

/// Splits at `separator` where it is not escaped, keeping the escapes for
/// [`unescape`].
fn split_unescaped(value: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => {
                current.push('\\');
                current.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            c if c == separator => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Undoes quoted-printable (`=C3=A9`); the bytes are UTF-8, as every
/// phone that writes 2.1 cards with CHARSET=UTF-8 does.
fn quoted_printable(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(cells: &[Cell], target: &Target) -> Vec<String> {
        cells.iter().filter(|c| &c.target == target).map(|c| c.value.clone()).collect()
    }

    #[test]
    fn cards_of_three_versions_with_folding_groups_and_escapes() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Kovalenko;Olena;;;\r\nFN:Olena Kovalenko\r\n\
            item1.EMAIL;TYPE=INTERNET,pref:olena@example.org\r\nitem1.X-ABLabel:_$!<Work>!$_\r\n\
            EMAIL;TYPE=home:o.k@example.net\r\nTEL;TYPE=CELL:+380 44 123 4567\r\n\
            ADR;TYPE=work:;;вул. Хрещатик\\, 1;Київ;;01001;UA\r\n\
            NOTE:first line\\nsecond\\; with \\\\ a long note that a phone\r\n  folds here\r\n\
            CATEGORIES:VIP,Trade fair\r\nBDAY:19900412\r\nEND:VCARD\r\n\
            BEGIN:VCARD\nVERSION:4.0\nFN:Jörg Müller\nN:Müller;Jörg;;;\nTEL;VALUE=uri:tel:+4930123456\n\
            ORG:Acme GmbH;Sales\nTITLE:Buyer\nEND:VCARD\n\
            BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9F=D0=B5=D1=82=D1=80=D0=B5=\n\
            =D0=BD=D0=BA=D0=BE;=D0=86=D0=B2=D0=B0=D0=BD\nTEL;CELL;PREF:+380501112233\nEND:VCARD\n";
        let cards = read(text).unwrap();
        assert_eq!(cards.len(), 3);
        let (number, first) = &cards[0];
        assert_eq!(*number, 1);
        assert_eq!(values(first, &Target::Emails), ["olena@example.org", "o.k@example.net"]);
        assert_eq!(values(first, &Target::FamilyName), ["Kovalenko"]);
        assert_eq!(values(first, &Target::Notes), ["first line\nsecond; with \\ a long note that a phone folds here"]);
        assert_eq!(values(first, &Target::Birthday), ["1990-04-12"]);
        let street = first.iter().find(|c| matches!(&c.target, Target::Address(_, AddressPart::Street))).unwrap();
        assert_eq!(street.value, "вул. Хрещатик, 1");
        assert_eq!(street.column, "ADR");
        let second = &cards[1].1;
        assert_eq!(values(second, &Target::Phones), ["+4930123456"]);
        assert_eq!(values(second, &Target::Company), ["Acme GmbH"]);
        let third = &cards[2].1;
        assert_eq!(values(third, &Target::FamilyName), ["Петренко"]);
        assert_eq!(values(third, &Target::GivenName), ["Іван"]);
    }

    #[test]
    fn files_without_cards_or_with_an_open_card_are_refused() {
        assert!(read("Name,Email\n").is_err());
        assert!(read("BEGIN:VCARD\nFN:x\n").is_err());
        let endless = format!("BEGIN:VCARD\n{}END:VCARD\n", "NOTE:x\n".repeat(1001));
        assert!(read(&endless).is_err(), "a card of a thousand and one values");
    }
}
