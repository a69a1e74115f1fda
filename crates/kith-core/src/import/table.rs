//! Delimited text as a header and rows: comma, semicolon (what
//! spreadsheets write where the comma is the decimal sign), tab or bar,
//! recognised from the header line; quoted fields may hold the delimiter,
//! quotes and line breaks.

use crate::{ErrorCode, ValidationError};

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 1_000_000;
/// The most columns one file may hold.
pub const MAX_COLUMNS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    /// Each row with its number as a spreadsheet shows it (the header is row 1).
    pub rows: Vec<(usize, Vec<String>)>,
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
    let headers: Vec<String> = match records.next() {
        Some(header) => header.map_err(broken(1))?.iter().map(|h| h.trim().to_string()).collect(),
        None => return Err(ValidationError::new(ErrorCode::InvalidValue, "the file is empty")),
    };
    if headers.iter().all(String::is_empty) {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "row 1: the first row names the columns"));
    }
    if headers.len() > MAX_COLUMNS {
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("at most {MAX_COLUMNS} columns")));
    }
    let mut rows = Vec::new();
    for (i, record) in records.enumerate() {
        let number = i + 2;
        let record = record.map_err(broken(number))?;
        // Spreadsheets end files with empty lines and rows of empty cells.
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(ValidationError::new(ErrorCode::InvalidValue, format!("at most {MAX_ROWS} rows in one file")));
        }
        rows.push((number, record.iter().map(str::to_string).collect()));
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
        assert_eq!(table.rows[0], (2, vec!["Kovalenko; Olena".to_string(), "said \"hi\"\nthen left".to_string()]));
        assert_eq!(table.rows[1].0, 4, "row numbers count the skipped rows");
    }

    #[test]
    fn empty_and_headerless_files_are_refused() {
        assert!(read("", None).is_err());
        assert!(read(",,\n1,2,3\n", None).is_err());
    }
}
