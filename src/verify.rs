//! Checks of a table's files made when the table is first used, before DataFusion reads them, so that a
//! damaged file gets an error naming it (and the line) instead of a panic or a silently wrong count.
//!
//! - Parquet: every file's last 8 bytes are read: the `PAR1` magic, and a metadata length that fits in the
//!   file. (parquet 59 subtracts that length from the file size unchecked and panics when it is larger.)
//! - CSV: every file is read once through a scanner that follows the reader's own quoting rules (a quote
//!   opens a quoted value only at the start of a field; `""` inside one is a quote). It reports, with the
//!   file and line: a quoted value still open at the end of the file (Arrow's reader would take the rest of
//!   the file as that one value and lose the rows after it), a record with more or fewer fields than the
//!   first (the header), and text that is not UTF-8. Tolerated: `\r\n` line ends, a missing final line
//!   break, blank lines, quotes inside unquoted values (`5" screen`), quoted values with line breaks.

use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::context::SessionState;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt as _};

use crate::csv_schema::CsvDialect;
use crate::csv_split::Fields;
use crate::sniff::Dialect;

/// Files checked at once (object stores answer many small requests in parallel).
const CONCURRENCY: usize = 16;

/// The files of a table, in name order, with the store they are in: listed once when the table is first
/// used, for the checks here and for CSV schema inference.
pub struct TableFiles {
    pub store: Arc<dyn ObjectStore>,
    pub files: Vec<ObjectMeta>,
}

impl TableFiles {
    /// Lists the files of the table at `url` ending in `extension`.
    pub async fn list(
        state: &SessionState,
        url: &ListingTableUrl,
        extension: &str,
    ) -> Result<Self> {
        let store = state.runtime_env().object_store(url.object_store())?;
        let mut files: Vec<ObjectMeta> = url
            .list_all_files(state, store.as_ref(), extension)
            .await?
            .try_collect()
            .await?;
        files.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(Self { store, files })
    }
}

/// A file's name as the user knows it: a local path, or the store's URL.
pub fn display_name(url: &ListingTableUrl, file: &ObjectMeta) -> String {
    display_name_in(url.object_store().as_str(), file)
}

/// A file's name as the user knows it, from the URL of the store it is in (`file:///`, `s3://bucket/`).
pub fn display_name_in(root: &str, file: &ObjectMeta) -> String {
    match root {
        "file:///" => format!("/{}", file.location),
        root => format!("{root}{}", file.location),
    }
}

/// Checks the footer of every Parquet file of the table at `url`.
pub async fn parquet_footers(url: &ListingTableUrl, listed: &TableFiles) -> Result<()> {
    futures::stream::iter(listed.files.iter().cloned())
        .map(|file| {
            let store = Arc::clone(&listed.store);
            async move {
                let name = display_name(url, &file);
                let tail = if file.size >= 12 {
                    Some(
                        store
                            .get_range(&file.location, file.size - 8..file.size)
                            .await?,
                    )
                } else {
                    None
                };
                footer_problem(file.size, tail.as_deref()).map_or(Ok(()), |problem| {
                    Err(DataFusionError::Execution(format!("{name}: {problem}")))
                })
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// What is wrong with a Parquet file of `size` bytes ending in `tail` (its last 8 bytes), if anything.
fn footer_problem(size: u64, tail: Option<&[u8]>) -> Option<String> {
    let Some(tail) = tail.filter(|t| t.len() == 8) else {
        return Some(format!(
            "not a Parquet file: {size} bytes, and a Parquet file has at least 12"
        ));
    };
    if &tail[4..] != b"PAR1" && &tail[4..] != b"PARE" {
        return Some(
            "not a Parquet file, or a truncated one: it does not end with the PAR1 magic".into(),
        );
    }
    let metadata = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if metadata + 12 > size {
        return Some(format!(
            "corrupt Parquet footer: it gives the metadata a length of {metadata} bytes, more than the file's \
             {size} bytes"
        ));
    }
    None
}

/// Checks every CSV file of the table at `url` (see the module documentation).
pub async fn csv_files(
    url: &ListingTableUrl,
    listed: &TableFiles,
    dialect: &CsvDialect,
    written: &Dialect,
    header: bool,
) -> Result<()> {
    let written = *written;
    futures::stream::iter(listed.files.iter().cloned())
        .map(|file| {
            let store = Arc::clone(&listed.store);
            async move {
                let name = display_name(url, &file);
                let fail =
                    |message: String| DataFusionError::Execution(format!("{name}: {message}"));
                if file.size == 0 {
                    return Ok(());
                }
                let bytes = store
                    .get(&file.location)
                    .await?
                    .into_stream()
                    .map_err(DataFusionError::from)
                    .boxed();
                let mut bytes = dialect.compression.convert_stream(bytes)?;
                let mut scan = CsvScan::new(&written, header);
                while let Some(chunk) = bytes.next().await {
                    let chunk = chunk.map_err(|e| {
                        let verb = if dialect.compression.is_compressed() {
                            "cannot decompress it"
                        } else {
                            "cannot read it"
                        };
                        fail(format!("{verb}: {}", e.strip_backtrace()))
                    })?;
                    scan.feed(&chunk).map_err(fail)?;
                }
                scan.finish().map_err(fail)
            }
        })
        // Whole files are read here: fewer at once than footers.
        .buffer_unordered(CONCURRENCY.min(4))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// A CSV scanner fed chunk by chunk: the records' field counts (with the reader's quoting rules, see
/// [`Fields`]), the line of each record, quoted values still open at the end, and UTF-8.
#[derive(Debug)]
struct CsvScan {
    fields: Fields,
    /// The current line (1-based, counting every line break, also inside quoted values).
    line: u64,
    /// Where the current record and the current quoted value started.
    record_line: u64,
    quote_line: u64,
    /// The number of fields of the first record.
    expected: Option<usize>,
    /// What the first record is, for messages.
    first: &'static str,
    /// Bytes of a UTF-8 character cut by the end of the last chunk.
    carry: Vec<u8>,
    /// Whether the very first bytes have been seen (a BOM is skipped).
    started: bool,
}

impl CsvScan {
    fn new(dialect: &Dialect, header: bool) -> Self {
        Self {
            fields: Fields::new(dialect),
            line: 1,
            record_line: 1,
            quote_line: 1,
            expected: None,
            first: if header {
                "the header"
            } else {
                "the first line"
            },
            carry: Vec::new(),
            started: false,
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        self.check_utf8(chunk)?;
        let mut bytes = chunk;
        if !self.started {
            self.started = true;
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        for &b in bytes {
            if self.fields.at_record_start() {
                self.record_line = self.line;
            }
            let quoted = self.fields.in_quotes();
            if let Some(n) = self.fields.push(b) {
                self.end_record(n)?;
            }
            if !quoted && self.fields.in_quotes() {
                self.quote_line = self.line;
            }
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(())
    }

    /// A record of `fields` fields ended.
    fn end_record(&mut self, fields: usize) -> Result<(), String> {
        match self.expected {
            None => self.expected = Some(fields),
            Some(expected) if expected != fields => {
                return Err(format!(
                    "line {}: {fields} field{} where {} has {expected}; a row must have as many fields as the \
                     header (is a delimiter or a quote missing?)",
                    self.record_line,
                    if fields == 1 { "" } else { "s" },
                    self.first
                ));
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), String> {
        if self.fields.in_quotes() {
            return Err(format!(
                "line {}: unterminated quote: the quoted value that starts there never ends, so every line \
                 after it would be read as part of it",
                self.quote_line
            ));
        }
        if !self.carry.is_empty() {
            return Err(format!(
                "line {}: the file ends inside a UTF-8 character; CSV files are read as UTF-8",
                self.line
            ));
        }
        match self.fields.finish() {
            Some(n) => self.end_record(n),
            None => Ok(()),
        }
    }

    /// Checks that `chunk` continues valid UTF-8, carrying a character cut at its end to the next chunk.
    fn check_utf8(&mut self, chunk: &[u8]) -> Result<(), String> {
        let joined;
        let text: &[u8] = if self.carry.is_empty() {
            chunk
        } else {
            joined = [self.carry.as_slice(), chunk].concat();
            &joined
        };
        match std::str::from_utf8(text) {
            Ok(_) => {
                self.carry.clear();
                Ok(())
            }
            Err(e) if e.error_len().is_none() => {
                // A character cut by the chunk's end.
                self.carry = text[e.valid_up_to()..].to_vec();
                Ok(())
            }
            Err(e) => {
                // The line this chunk starts on, plus the line breaks before the bad byte (a carried,
                // cut character holds none).
                let before = &text[..e.valid_up_to()];
                let line = self.line + before.iter().filter(|&&b| b == b'\n').count() as u64;
                let bad = &text[e.valid_up_to()..(e.valid_up_to() + e.error_len().unwrap_or(1))];
                let hex: Vec<String> = bad.iter().map(|b| format!("{b:02X}")).collect();
                Err(format!(
                    "line {line}: invalid UTF-8 (byte {}); CSV files are read as UTF-8: convert the file \
                     (e.g. iconv -f WINDOWS-1252 -t UTF-8)",
                    hex.join(" ")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &[u8], chunk: usize) -> Result<(), String> {
        let dialect = Dialect {
            delimiter: b',',
            quote: b'"',
            escape: None,
            comment: None,
        };
        let mut scan = CsvScan::new(&dialect, true);
        for part in text.chunks(chunk.max(1)) {
            scan.feed(part)?;
        }
        scan.finish()
    }

    #[test]
    fn an_unterminated_quote_is_found_with_its_line() {
        for chunk in [1, 3, 1000] {
            let err = scan(b"id,txt\n1,\"abc\n2,x\n3,y\n", chunk).expect_err("unterminated");
            assert!(err.starts_with("line 2: unterminated quote"), "{err}");
        }
    }

    #[test]
    fn ragged_rows_are_found_with_their_line() {
        let err = scan(b"a,b\n1,2\n3,4,5\n", 2).expect_err("ragged");
        assert!(
            err.starts_with("line 3: 3 fields where the header has 2"),
            "{err}"
        );
        let err = scan(b"a,b\n1,\"x\ny\",2\n", 4).expect_err("ragged after a quoted newline");
        assert!(err.starts_with("line 2: 3 fields"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_found_with_its_line_and_bytes() {
        let err = scan(b"a,b\n1,caf\xE9\n", 1000).expect_err("latin-1");
        assert!(err.starts_with("line 2: invalid UTF-8 (byte E9)"), "{err}");
    }

    #[test]
    fn what_real_exports_do_is_tolerated() {
        let ok = [
            &b"a,b\r\n1,2\r\n"[..],
            b"a,b\n1,2",
            b"a,b\n\n1,2\n\n",
            b"a,b\n1,5\" screen\n",
            b"a,b\n1,\"line\nbreak, and \"\"quotes\"\"\"\n",
            b"\xEF\xBB\xBFa,b\n1,\xC3\xA9\n",
            b"a,b\n1,\"\"\n",
            b"",
        ];
        for text in ok {
            for chunk in [1, 2, 5, 1000] {
                assert_eq!(
                    scan(text, chunk),
                    Ok(()),
                    "{:?}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    #[test]
    fn footers_that_lie_are_found() {
        let mut tail = 100u32.to_le_bytes().to_vec();
        tail.extend_from_slice(b"PAR1");
        assert_eq!(footer_problem(1000, Some(&tail)), None);
        assert!(
            footer_problem(100, Some(&tail)).is_some_and(|p| p.contains("corrupt Parquet footer"))
        );
        assert!(footer_problem(5, None).is_some_and(|p| p.contains("5 bytes")));
        let mut bad = tail.clone();
        bad[7] = b'X';
        assert!(footer_problem(1000, Some(&bad)).is_some_and(|p| p.contains("PAR1")));
    }
}
