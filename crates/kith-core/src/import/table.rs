//! Delimited text as a header and rows: comma, semicolon (what
//! spreadsheets write where the comma is the decimal sign), tab or bar,
//! recognised from the header line; quoted fields may hold the delimiter,
//! quotes and line breaks.

use crate::{ErrorCode, ValidationError};

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 1_000_000;
/// The most columns one file may hold.
pub const MAX_COLUMNS: usize = 500;
/// The longest column name, in characters.
pub const MAX_HEADER_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    /// Each row with its number as a spreadsheet shows it (the header is
    /// row 1), blank lines not counted.
    pub rows: Vec<(usize, csv::StringRecord)>,
    pub delimiter: char,
}

/// The delimiter of the header line: the candidate seen most often
/// outside quotes (a comma when none is).
pub fn sniff_delimiter(text: &str) -> char {
    let mut counts = [(',', 0usize), (';', 0), ('\t', 0), ('|', 0)];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            _ if !quoted => {
                if let Some(slot) = counts.iter_mut().find(|(d, _)| *d == c) {
                    slot.1 += 1;
                }
            }
            _ => {}
        }
    }
    counts.iter().fold((',', 0), |best, &(d, n)| if n > best.1 { (d, n) } else { best }).0
}

pub fn read(text: &str, delimiter: Option<char>) -> Result<Table, ValidationError> {
    let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(text));
    let byte = u8::try_from(delimiter)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| ValidationError::new(ErrorCode::InvalidValue, "delimiter: one ASCII character"))?;
    let mut reader =
        csv::ReaderBuilder::new().delimiter(byte).flexible(true).has_headers(false).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(header) => header.map_err(broken(1))?,
        None => return Err(ValidationError::new(ErrorCode::InvalidValue, "the file is empty")),
    };
    if header.len() > MAX_COLUMNS {
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("at most {MAX_COLUMNS} columns")));
    }
    let headers: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    if headers.iter().all(String::is_empty) {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "row 1: the first row names the columns"));
    }
    if headers.iter().any(|h| h.chars().count() > MAX_HEADER_CHARS) {
        return Err(ValidationError::new(
            ErrorCode::InvalidValue,
            format!("row 1: a column name has more than {MAX_HEADER_CHARS} characters"),
        ));
    }
    let mut rows = Vec::new();
    // Lines with nothing on them are no rows to the reader, so they are
    // not counted; a row of empty cells is.
    for (i, record) in records.enumerate() {
        let number = i + 2;
        let record = record.map_err(broken(number))?;
        if record.len() > MAX_COLUMNS {
            return Err(ValidationError::new(
                ErrorCode::InvalidValue,
                format!("row {number}: more than {MAX_COLUMNS} columns"),
            ));
        }
        // Spreadsheets end files with empty lines and rows of empty cells.
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(ValidationError::new(ErrorCode::InvalidValue, format!("at most {MAX_ROWS} rows in one file")));
        }
        // Cells beyond the header's have no column to go to.
        let mut record = record;
        record.truncate(headers.len());
        rows.push((number, record));
    }
    Ok(Table { headers, rows, delimiter })
}

fn broken(row: usize) -> impl Fn(csv::Error) -> ValidationError {
    move |_| ValidationError::new(ErrorCode::InvalidValue, format!("row {row}: not readable as delimited text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_recognised_from_the_header() {
        assert_eq!(sniff_delimiter("a,b,c\n1;2;3"), ',');
        assert_eq!(sniff_delimiter("Name;E-mail;\"a,b\"\n"), ';');
        assert_eq!(sniff_delimiter("Name\tE-mail\n"), '\t');
        assert_eq!(sniff_delimiter("Name|E-mail\n"), '|');
        assert_eq!(sniff_delimiter("Name\n"), ',');
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_line_breaks() {
        let text = "Name;Notes\r\n\"Kovalenko; Olena\";\"said \"\"hi\"\"\nthen left\"\r\n;\r\n\r\nBob;x\r\n";
        let table = read(text, None).unwrap();
        assert_eq!(table.delimiter, ';');
        assert_eq!(table.headers, ["Name", "Notes"]);
        assert_eq!(table.rows.len(), 2, "rows of empty cells are skipped");
        assert_eq!(table.rows[0].0, 2);
        assert_eq!(table.rows[0].1.iter().collect::<Vec<_>>(), ["Kovalenko; Olena", "said \"hi\"\nthen left"]);
        assert_eq!(table.rows[1].0, 4, "rows of empty cells count, blank lines do not");
    }

    #[test]
    fn empty_headerless_and_overwide_files_are_refused() {
        assert!(read("", None).is_err());
        assert!(read(",,\n1,2,3\n", None).is_err());
        assert!(read(&format!("E-mail{}\nx\n", "-".repeat(300)), None).is_err(), "a column name of 300 characters");
        assert!(read(&format!("Name\nx{}\n", ",".repeat(600)), None).is_err(), "a row of 601 cells");
        let extra = read("Name\nAnn,surplus\n", None).unwrap();
        assert_eq!(extra.rows[0].1.iter().collect::<Vec<_>>(), ["Ann"], "cells beyond the header are dropped");
    }
}
