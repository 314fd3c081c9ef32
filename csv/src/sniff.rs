//! What a CSV export is, read off a sample of its first file: the text encoding, the dialect (delimiter,
//! quote, escape, header row, comment lines), clean column names, and the columns whose values are numbers,
//! dates, timestamps or durations written the way a spreadsheet in a given locale writes them.
//!
//! Everything here is a pure function of the sample, so that the same sample always gives the same
//! decision, and every decision carries the reason `cxsql sniff` prints.
//!
//! ## Rules
//! - **Encoding:** a byte order mark decides (UTF-8, UTF-16 LE, UTF-16 BE). Without one, a sample that is
//!   valid UTF-8 (a character cut at the sample's end allowed) is UTF-8; anything else is Windows-1252, the
//!   default "CSV" of Excel in Western Europe (a superset of ISO-8859-1 for text).
//! - **Dialect:** every combination of delimiter (`,` `;` tab `|`), quote (`"` `'`) and escape (the quote
//!   doubled, or `\`) cuts the sample into records; a combination is *consistent* when every record has
//!   the same number of fields. Among consistent combinations giving two or more fields the one with the
//!   most fields wins; ties go to the earlier in the order just given. When none is, the one whose most
//!   common field count (two or more) covers the most records wins, so that a ragged row is reported with
//!   its line instead of the file being read as one column; one field per record comes last. Lines
//!   starting with `#` before the first record are comment lines.
//! - **Header:** the first record is data, not a header, only when every one of its values fits the type of
//!   its column in the other records and at least one column is not text; otherwise it is the header (an
//!   export of only text columns is taken to have one).
//! - **Names:** trimmed; an empty name becomes `column<N>` (N its 1-based position); a repeated name gets
//!   `_1`, `_2`, ... (the first keeps it). Files without a header have `column1`, `column2`, ...

use crate::dialect::{DELIMITERS, Dialect, Fixed, delimiter_name};
use crate::locale::{Shape, shape};
use crate::split::Fields;
use std::collections::{BTreeMap, HashSet};

/// A text encoding cxsql reads, and how it was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedEncoding {
    pub encoding: &'static encoding_rs::Encoding,
    /// Bytes of byte order mark at the start of the file.
    pub bom: usize,
    pub reason: String,
}

/// Decides the encoding of a file from its first bytes. `cut` says the sample ends before the file does
/// (a multi-byte character may be cut there).
pub fn detect_encoding(sample: &[u8], cut: bool) -> DetectedEncoding {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(sample) {
        return DetectedEncoding {
            encoding,
            bom,
            reason: format!("{} byte order mark", encoding.name()),
        };
    }
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        // A character cut by the end of the sample: `error_len` is None.
        Err(e) => cut && e.error_len().is_none(),
    };
    if valid {
        DetectedEncoding {
            encoding: encoding_rs::UTF_8,
            bom: 0,
            reason: "the sample is valid UTF-8".into(),
        }
    } else {
        let at = std::str::from_utf8(sample)
            .err()
            .map_or(0, |e| e.valid_up_to());
        DetectedEncoding {
            encoding: encoding_rs::WINDOWS_1252,
            bom: 0,
            reason: format!(
                "not UTF-8 (byte 0x{:02X} at offset {at}); read as Windows-1252, Excel's \"CSV\" in Western Europe",
                sample.get(at).copied().unwrap_or_default()
            ),
        }
    }
}

/// The encoding named `label` (`utf-8`, `windows-1252`, `latin1`, `utf-16le`, ...; WHATWG labels).
pub fn encoding_for_label(label: &str) -> Option<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_label(label.trim().as_bytes())
}

/// Bytes of the sample the dialects are compared on.
const PROBE_BYTES: usize = 1 << 20;

const QUOTES: [u8; 2] = [b'"', b'\''];
const ESCAPES: [Option<u8>; 2] = [None, Some(b'\\')];

/// The dialect chosen for a sample, the sample's records under it, and why.
#[derive(Debug, Clone)]
pub struct SniffedDialect {
    pub dialect: Dialect,
    pub records: Vec<Vec<String>>,
    pub reason: String,
    /// With a given delimiter that does not split the records into a consistent number of fields (or
    /// splits them into one) where another delimiter does: "looks like ';'-separated: 7 fields per line
    /// with ';', 1 with ','".
    pub hint: Option<String>,
}

/// Chooses the dialect of `text` (the decoded sample; `cut`: it ends before the file does, so its last
/// record may be incomplete and is left out), and splits its first `max_records` records with it.
pub fn sniff_dialect(text: &str, cut: bool, fixed: Fixed, max_records: usize) -> SniffedDialect {
    // The combinations are compared on the first megabyte (thousands of records), and the whole sample is
    // split once, with the one chosen.
    let mut probe_len = text.len().min(PROBE_BYTES);
    while !text.is_char_boundary(probe_len) {
        probe_len -= 1;
    }
    let full = text;
    let full_cut = cut;
    let (text, cut) = if probe_len < full.len() {
        (&full[..probe_len], true)
    } else {
        (full, cut)
    };
    let comment = fixed.comment.unwrap_or_else(|| comment_lines(text));
    let delimiters: Vec<u8> = fixed.delimiter.map_or(DELIMITERS.to_vec(), |d| vec![d]);
    let quotes: Vec<u8> = fixed.quote.map_or(QUOTES.to_vec(), |q| vec![q]);
    let escapes: Vec<Option<u8>> = fixed.escape.map_or(ESCAPES.to_vec(), |e| vec![e]);
    // The best split so far; combinations are tried in the tie order.
    let mut best: Option<(Candidate, SniffedDialect)> = None;
    let mut tried = Vec::new();
    for &delimiter in &delimiters {
        for &quote in &quotes {
            for &escape in &escapes {
                let dialect = Dialect {
                    delimiter,
                    quote,
                    escape,
                    comment,
                };
                let candidate = Candidate::of(&field_counts(text, &dialect, cut));
                tried.push((delimiter, candidate));
                let better = match &best {
                    None => true,
                    Some((held, _)) => candidate.beats(held),
                };
                if better {
                    best = Some((
                        candidate,
                        SniffedDialect {
                            dialect,
                            records: Vec::new(),
                            reason: String::new(),
                            hint: None,
                        },
                    ));
                }
            }
        }
    }
    let (candidate, mut sniffed) = best.expect("at least one combination is tried");
    // The reason: how the winner's delimiter splits the records, against the other delimiters.
    let mut others = Vec::new();
    for &d in &DELIMITERS {
        if d == sniffed.dialect.delimiter {
            continue;
        }
        if let Some((_, c)) = tried.iter().find(|(delimiter, _)| *delimiter == d) {
            others.push(format!("{} with {}", c.describe(), delimiter_name(d)));
        }
    }
    let mut reason = format!(
        "{} with {}",
        candidate.describe(),
        delimiter_name(sniffed.dialect.delimiter)
    );
    if !others.is_empty() {
        reason.push_str(&format!(" ({})", others.join(", ")));
    }
    if let Some(given) = fixed.delimiter {
        reason.push_str("; the delimiter was given");
        if !(candidate.consistent() && candidate.fields > 1) {
            sniffed.hint = other_delimiter(text, cut, &sniffed.dialect, given).map(|(d, c)| {
                format!(
                    "looks like {}-separated: {} fields per line with {}, {} with {}",
                    delimiter_name(d),
                    c.fields,
                    delimiter_name(d),
                    candidate.fields,
                    delimiter_name(given)
                )
            });
        }
    }
    sniffed.reason = reason;
    sniffed.records = split(full, &sniffed.dialect, full_cut, max_records);
    sniffed
}

/// The first delimiter other than `given` (in the tie order) that splits `text` consistently into several
/// fields, with the given quoting.
fn other_delimiter(text: &str, cut: bool, dialect: &Dialect, given: u8) -> Option<(u8, Candidate)> {
    DELIMITERS
        .iter()
        .filter(|&&d| d != given)
        .map(|&delimiter| {
            let counts = field_counts(
                text,
                &Dialect {
                    delimiter,
                    ..*dialect
                },
                cut,
            );
            (delimiter, Candidate::of(&counts))
        })
        .filter(|(_, c)| c.consistent() && c.fields > 1)
        .max_by_key(|(d, c)| {
            (
                c.fields,
                std::cmp::Reverse(DELIMITERS.iter().position(|x| x == d)),
            )
        })
}

/// How one dialect splits the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    records: usize,
    /// The most common field count, and how many records have it.
    fields: usize,
    agreeing: usize,
}

impl Candidate {
    /// Of the records with these numbers of fields.
    fn of(records: &[usize]) -> Self {
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for &record in records {
            *counts.entry(record).or_default() += 1;
        }
        // The most common count; among equally common ones the larger.
        let (fields, agreeing) = counts
            .iter()
            .max_by_key(|(fields, n)| (**n, **fields))
            .map_or((0, 0), |(f, n)| (*f, *n));
        Candidate {
            records: records.len(),
            fields,
            agreeing,
        }
    }

    fn consistent(&self) -> bool {
        self.records > 0 && self.agreeing == self.records
    }

    /// Strictly better than `other` (ties keep the earlier): consistent splits into several fields first (the
    /// most fields), then splits into several fields that most records agree on (a ragged row is then an
    /// error naming its line, not a reason to read every line as one field), then one field per record.
    fn beats(&self, other: &Candidate) -> bool {
        self.rank() > other.rank()
    }

    fn rank(&self) -> (u8, usize, usize) {
        match (self.fields > 1, self.consistent()) {
            // Not the number of records: a wrong quote cuts quoted line breaks into more records.
            (true, true) => (2, self.fields, 0),
            (true, false) => (1, self.agreeing, self.fields),
            (false, _) => (0, self.agreeing, self.fields),
        }
    }

    fn describe(&self) -> String {
        let fields = if self.fields == 1 {
            "1 field".to_string()
        } else {
            format!("{} fields", self.fields)
        };
        if self.consistent() {
            format!("{fields} in each of {} records", self.records)
        } else {
            format!("{fields} in {} of {} records", self.agreeing, self.records)
        }
    }
}

/// `Some(b'#')` when the text starts with lines starting with `#`.
fn comment_lines(text: &str) -> Option<u8> {
    text.trim_start_matches('\u{feff}')
        .starts_with('#')
        .then_some(b'#')
}

/// Cuts `text` into records of unquoted values, as Arrow's reader does: a quote opens a quoted value only at
/// the start of a field; inside one, a doubled quote (or the escape and a quote) is a quote; line ends are
/// `\n` or `\r\n`; blank lines and comment lines are skipped. With `cut`, the last record is left out when
/// the text does not end with a line break outside quotes.
#[cfg(test)]
pub fn split_records(text: &str, dialect: &Dialect, cut: bool) -> Vec<Vec<String>> {
    split(text, dialect, cut, usize::MAX)
}

/// The number of fields of each record of `text`, as [`split_records`] splits it (counted by
/// [`crate::split::Fields`], which skips the bytes of values without looking at each).
fn field_counts(text: &str, dialect: &Dialect, cut: bool) -> Vec<usize> {
    let mut fields = Fields::new(dialect);
    let mut counts = Vec::new();
    fields.scan(text.as_bytes(), |_, n| {
        counts.push(n);
        true
    });
    if !cut && let Some(n) = fields.finish() {
        counts.push(n);
    }
    counts
}

/// [`split_records`], stopping after `limit` records.
fn split(text: &str, dialect: &Dialect, cut: bool, limit: usize) -> Vec<Vec<String>> {
    let value = |field: &[u8]| String::from_utf8_lossy(field).into_owned();
    let bytes = text.as_bytes();
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field: Vec<u8> = Vec::new();
    let mut i = 0;
    let mut at_field_start = true;
    let mut at_record_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if at_record_start {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
                i += if b == b'\r' { 2 } else { 1 };
                continue;
            }
            if Some(b) == dialect.comment {
                match memchr_newline(&bytes[i..]) {
                    Some(n) => i += n + 1,
                    None => i = bytes.len(),
                }
                continue;
            }
            at_record_start = false;
        }
        if at_field_start && b == dialect.quote {
            // A quoted value.
            i += 1;
            let mut closed = false;
            while i < bytes.len() {
                let c = bytes[i];
                if Some(c) == dialect.escape && i + 1 < bytes.len() {
                    field.push(bytes[i + 1]);
                    i += 2;
                } else if c == dialect.quote {
                    if bytes.get(i + 1) == Some(&dialect.quote) {
                        field.push(c);
                        i += 2;
                    } else {
                        i += 1;
                        closed = true;
                        break;
                    }
                } else {
                    field.push(c);
                    i += 1;
                }
            }
            if !closed {
                // The text ended inside quotes.
                if !cut {
                    record.push(value(&field));
                    records.push(record);
                }
                return records;
            }
            at_field_start = false;
            continue;
        }
        at_field_start = false;
        if b == dialect.delimiter {
            record.push(value(&field));
            field.clear();
            at_field_start = true;
            i += 1;
        } else if b == b'\n' || (b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            record.push(value(&field));
            field.clear();
            records.push(std::mem::take(&mut record));
            if records.len() == limit {
                return records;
            }
            at_field_start = true;
            at_record_start = true;
            i += if b == b'\r' { 2 } else { 1 };
        } else {
            field.push(b);
            i += 1;
        }
    }
    if !at_record_start && !cut {
        record.push(value(&field));
        records.push(record);
    }
    records
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Clean column names for a header record (see the module documentation).
pub fn column_names(header: &[String]) -> Vec<String> {
    let trimmed: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let name = name.trim().trim_start_matches('\u{feff}').trim();
            if name.is_empty() {
                format!("column{}", i + 1)
            } else {
                name.to_string()
            }
        })
        .collect();
    let mut taken: HashSet<String> = HashSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut names = Vec::with_capacity(trimmed.len());
    for name in &trimmed {
        let mut chosen = name.clone();
        if taken.contains(&chosen.to_lowercase()) {
            let n = seen.entry(name.to_lowercase()).or_insert(0);
            loop {
                *n += 1;
                chosen = format!("{name}_{n}");
                if !taken.contains(&chosen.to_lowercase()) && !trimmed.contains(&chosen) {
                    break;
                }
            }
        }
        taken.insert(chosen.to_lowercase());
        names.push(chosen);
    }
    names
}

/// Names for a file without a header: `column1`, `column2`, ...
pub fn numbered_names(fields: usize) -> Vec<String> {
    (1..=fields).map(|i| format!("column{i}")).collect()
}

/// Whether the first of `records` is a header (see the module documentation), and why.
pub fn has_header(records: &[Vec<String>], decimal_comma_allowed: bool) -> (bool, String) {
    let Some((first, rest)) = records.split_first() else {
        return (true, "no records: taken as a header".into());
    };
    if rest.is_empty() {
        return (true, "a single record: taken as a header".into());
    }
    let mut typed_columns = 0;
    for (column, value) in first.iter().enumerate() {
        let shapes: HashSet<Shape> = rest
            .iter()
            .filter_map(|r| r.get(column))
            .map(|v| shape(v, decimal_comma_allowed))
            .filter(|s| *s != Shape::Empty)
            .collect();
        let column_shape = match shapes.len() {
            1 => *shapes.iter().next().expect("one shape"),
            _ => Shape::Text,
        };
        if column_shape == Shape::Text {
            continue;
        }
        typed_columns += 1;
        let own = shape(value, decimal_comma_allowed);
        if own != column_shape && own != Shape::Empty {
            return (
                true,
                format!(
                    "the first record's {value:?} is not like the values below it in column {}",
                    column + 1
                ),
            );
        }
    }
    if typed_columns == 0 {
        (
            true,
            "every column is text: the first record is taken as a header".into(),
        )
    } else {
        (
            false,
            "the first record's values are like the values below them: no header".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(text: &str) -> SniffedDialect {
        sniff_dialect(text, false, Fixed::default(), usize::MAX)
    }

    #[test]
    fn a_french_export_is_semicolon_separated() {
        let text =
            "Référence;Date de création;Note\nT1;05/01/2024 09:12;3,5\nT2;06/01/2024 10:00;4\n";
        let sniffed = dialect(text);
        assert_eq!(sniffed.dialect.delimiter, b';');
        assert_eq!(sniffed.records[1], vec!["T1", "05/01/2024 09:12", "3,5"]);
        assert!(
            sniffed
                .reason
                .starts_with("3 fields in each of 3 records with ';'"),
            "{}",
            sniffed.reason
        );
        assert!(
            sniffed
                .reason
                .contains("1 field in 2 of 3 records with ','"),
            "{}",
            sniffed.reason
        );
    }

    #[test]
    fn tabs_pipes_and_commas_inside_quotes() {
        assert_eq!(dialect("a\tb\n1\t2\n").dialect.delimiter, b'\t');
        assert_eq!(dialect("a|b|c\n1|2|3\n").dialect.delimiter, b'|');
        // Commas inside quotes do not count; the semicolon is not a delimiter here.
        let sniffed = dialect("id,text\n1,\"a; b, c\"\n2,\"x;y\"\n");
        assert_eq!(sniffed.dialect.delimiter, b',');
        assert_eq!(sniffed.records[1], vec!["1", "a; b, c"]);
    }

    #[test]
    fn a_ragged_row_does_not_make_a_file_one_column() {
        let sniffed = dialect("a,b\n1,2\n3,4\n5,6,7\n");
        assert_eq!(sniffed.dialect.delimiter, b',');
        assert!(
            sniffed
                .reason
                .starts_with("2 fields in 3 of 4 records with ','"),
            "{}",
            sniffed.reason
        );
    }

    #[test]
    fn quoted_line_breaks_keep_the_double_quote() {
        let sniffed = dialect("id,txt\n1,\"multi\nline, \"\"quoted\"\"\"\n2,5\" screen\n");
        assert_eq!(sniffed.dialect.quote, b'"');
        assert_eq!(sniffed.records.len(), 3);
    }

    #[test]
    fn ties_go_to_the_documented_order() {
        // One column: every delimiter gives one field; ',' comes first.
        assert_eq!(dialect("name\nx\ny\n").dialect.delimiter, b',');
        // Both quotes consistent: '"' first; doubled quotes before backslash escapes.
        let sniffed = dialect("a,b\n1,\"he said \"\"hi\"\"\"\n");
        assert_eq!(sniffed.dialect.quote, b'"');
        assert_eq!(sniffed.dialect.escape, None);
        assert_eq!(sniffed.records[1][1], "he said \"hi\"");
    }

    #[test]
    fn backslash_escapes_are_found_when_doubling_does_not_fit() {
        let text = "a,b,c\n1,\"x \\\", y\",2\n3,\"z\",4\n";
        let sniffed = dialect(text);
        assert_eq!(sniffed.dialect.escape, Some(b'\\'));
        assert_eq!(sniffed.records[1], vec!["1", "x \", y", "2"]);
    }

    #[test]
    fn comment_lines_crlf_and_blank_lines() {
        let sniffed = dialect("# exported 2024-01-01\n# by helpdesk\r\na;b\r\n\r\n1;2\r\n");
        assert_eq!(sniffed.dialect.comment, Some(b'#'));
        assert_eq!(sniffed.dialect.delimiter, b';');
        assert_eq!(sniffed.records, vec![vec!["a", "b"], vec!["1", "2"]]);
    }

    #[test]
    fn a_cut_sample_leaves_out_its_incomplete_last_record() {
        let records = split_records(
            "a,b\n1,\"long\ntext\n2,x",
            &Dialect {
                delimiter: b',',
                quote: b'"',
                escape: None,
                comment: None,
            },
            true,
        );
        assert_eq!(records, vec![vec!["a", "b"]]);
    }

    #[test]
    fn a_given_delimiter_is_kept_even_when_another_fits_better() {
        let fixed = Fixed {
            delimiter: Some(b','),
            ..Fixed::default()
        };
        let sniffed = sniff_dialect("a;b\n1;2\n", false, fixed, usize::MAX);
        assert_eq!(sniffed.dialect.delimiter, b',');
        assert!(sniffed.reason.ends_with("the delimiter was given"));
    }

    #[test]
    fn names_are_trimmed_numbered_and_made_distinct() {
        let header: Vec<String> = [
            " Ticket ",
            "Satisfaction rating",
            "Column1",
            "",
            "",
            "a",
            "A",
            "a_1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            column_names(&header),
            vec![
                "Ticket",
                "Satisfaction rating",
                "Column1",
                "column4",
                "column5",
                "a",
                "A_1",
                "a_1_1"
            ]
        );
        let header: Vec<String> = ["x", "x", "x"].iter().map(|s| s.to_string()).collect();
        assert_eq!(column_names(&header), vec!["x", "x_1", "x_2"]);
        assert_eq!(numbered_names(2), vec!["column1", "column2"]);
    }

    #[test]
    fn encodings_from_byte_order_marks_and_validity() {
        assert_eq!(
            detect_encoding(b"\xEF\xBB\xBFa,b\n", false).encoding,
            encoding_rs::UTF_8
        );
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFa,b\n", false).bom, 3);
        assert_eq!(
            detect_encoding(b"\xFF\xFEa\x00", false).encoding,
            encoding_rs::UTF_16LE
        );
        assert_eq!(
            detect_encoding(b"\xFE\xFF\x00a", false).encoding,
            encoding_rs::UTF_16BE
        );
        assert_eq!(
            detect_encoding("é,à\n".as_bytes(), false).encoding,
            encoding_rs::UTF_8
        );
        // "Durée" in Windows-1252.
        let latin = detect_encoding(b"Dur\xE9e;x\n", false);
        assert_eq!(latin.encoding, encoding_rs::WINDOWS_1252);
        assert!(
            latin.reason.contains("0xE9 at offset 3"),
            "{}",
            latin.reason
        );
        // A UTF-8 character cut by the end of a sample is not a reason to leave UTF-8.
        let cut = &"aé".as_bytes()[..2];
        assert_eq!(detect_encoding(cut, true).encoding, encoding_rs::UTF_8);
        assert_eq!(
            detect_encoding(cut, false).encoding,
            encoding_rs::WINDOWS_1252
        );
        assert_eq!(
            encoding_for_label("latin1"),
            Some(encoding_rs::WINDOWS_1252)
        );
        assert_eq!(encoding_for_label("nonsense"), None);
    }

    #[test]
    fn a_header_is_told_from_a_first_data_record() {
        let records = |rows: &[&[&str]]| -> Vec<Vec<String>> {
            rows.iter()
                .map(|r| r.iter().map(|s| s.to_string()).collect())
                .collect()
        };
        let (header, _) = has_header(
            &records(&[&["id", "score"], &["1", "5"], &["2", "7"]]),
            true,
        );
        assert!(header);
        let (header, why) = has_header(&records(&[&["1", "5"], &["2", "7"]]), true);
        assert!(!header, "{why}");
        let (header, why) = has_header(&records(&[&["name", "team"], &["ana", "b"]]), true);
        assert!(header, "{why}");
        assert!(why.contains("every column is text"));
        let (header, _) = has_header(
            &records(&[&["T1", "31/03/2021", "3,5"], &["T2", "01/04/2021", "4"]]),
            true,
        );
        assert!(!header);
    }
}
