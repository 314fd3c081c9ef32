//! Where a part of a large CSV file starts, so that one file is read by all cores even when quoted values
//! hold line breaks.
//!
//! A file is cut into byte ranges; each range is read by one task from the first record that starts in it
//! to the first record that starts in the next one. The first record after a byte offset cannot be found by
//! looking for a line break alone: the break may lie inside a quoted value. As DuckDB's parallel reader does,
//! each line break after the offset is a candidate start, and a candidate is taken when the records read
//! from it have the file's number of fields: [`RECORDS_CHECKED`] of them, or all records to the end of the
//! file. A line break inside a quoted value rarely passes: the rest of the quoted text and the record after
//! it split into the wrong number of fields. Where no candidate passes within the window read, the start is
//! undecided and the previous part reads on through this one (serially, as before).
//!
//! The decision is a function of the file's bytes around the offset only, so the task reading the previous
//! range finds the same start by itself and ends there; it also checks, with the exact quote state it has
//! from the start of its range, that this start is a record start, and fails the query if it is not (an
//! error, never rows counted twice or lost).

use crate::dialect::Dialect;

/// Complete records read from a candidate start that must all have the expected number of fields.
pub const RECORDS_CHECKED: usize = 32;
/// Bytes read after a range's nominal start to find its first record.
pub const WINDOW: u64 = 1 << 20;

/// The first record at or after an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The record starts at this byte of the file.
    At(u64),
    /// No record start could be told within the window: the previous part reads on.
    Undecided,
}

/// Decides where the first record at or after `offset` starts. `window` holds the file's bytes from
/// `offset - 1` (or from 0 when `offset` is 0) onwards, `eof` whether it reaches the end of the file;
/// `fields` is the number of fields of every record.
pub fn decide(window: &[u8], offset: u64, eof: bool, dialect: &Dialect, fields: usize) -> Start {
    if offset == 0 {
        return Start::At(0);
    }
    let base = offset - 1;
    for (i, &b) in window.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        let candidate = i + 1;
        if candidate == window.len() && eof {
            return Start::At(base + candidate as u64);
        }
        if plausible(&window[candidate..], eof, dialect, fields) {
            return Start::At(base + candidate as u64);
        }
    }
    if eof {
        // No record starts after the offset: the part is empty.
        return Start::At(base + window.len() as u64);
    }
    Start::Undecided
}

/// Whether `text`, read from its first byte as the start of a record, splits into records of `fields`
/// fields: [`RECORDS_CHECKED`] of them, or every record to the end of the file.
fn plausible(text: &[u8], eof: bool, dialect: &Dialect, fields: usize) -> bool {
    let mut scan = Fields::new(dialect);
    let mut records = 0;
    let mut wrong = false;
    let whole = scan.scan(text, |_, n| {
        wrong = n != fields;
        records += 1;
        !wrong && records < RECORDS_CHECKED
    });
    if wrong {
        return false;
    }
    if !whole {
        return true;
    }
    if eof {
        // The last record may lack its line break; a quoted value still open means a wrong start.
        match scan.finish() {
            Some(n) if n != fields => false,
            Some(_) => true,
            None => !scan.in_quotes() && records > 0,
        }
    } else {
        false
    }
}

/// Counts the fields of records byte by byte, with the reader's quoting rules: a quote opens a quoted value
/// only at the start of a field; inside one, a doubled quote or the escape and a byte are text; blank lines
/// and comment lines are no records.
#[derive(Debug, Clone)]
pub struct Fields {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    comment: Option<u8>,
    state: State,
    fields: usize,
    /// The record has at least one byte.
    started: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote in a quoted value: its end, or the first of two.
    QuoteInQuoted,
    /// After the escape in a quoted value.
    Escaped,
    Comment,
}

impl Fields {
    pub fn new(dialect: &Dialect) -> Self {
        Self {
            delimiter: dialect.delimiter,
            quote: dialect.quote,
            escape: dialect.escape,
            comment: dialect.comment,
            state: State::FieldStart,
            fields: 0,
            started: false,
        }
    }

    /// Takes one byte; returns the record's number of fields when it ends with this byte.
    #[inline]
    pub fn push(&mut self, b: u8) -> Option<usize> {
        match self.state {
            State::Comment => {
                if b == b'\n' {
                    self.state = State::FieldStart;
                }
                None
            }
            State::Quoted => {
                if Some(b) == self.escape {
                    self.state = State::Escaped;
                } else if b == self.quote {
                    self.state = State::QuoteInQuoted;
                }
                None
            }
            State::Escaped => {
                self.state = State::Quoted;
                None
            }
            State::QuoteInQuoted if b == self.quote => {
                self.state = State::Quoted;
                None
            }
            State::FieldStart | State::Unquoted | State::QuoteInQuoted => {
                if b == b'\n' {
                    return self.end();
                }
                if b == b'\r' {
                    return None;
                }
                if !self.started && Some(b) == self.comment {
                    self.state = State::Comment;
                    return None;
                }
                self.started = true;
                if b == self.delimiter {
                    self.fields += 1;
                    self.state = State::FieldStart;
                } else if b == self.quote && self.state == State::FieldStart {
                    self.state = State::Quoted;
                } else {
                    self.state = State::Unquoted;
                }
                None
            }
        }
    }

    /// How many of the first bytes of `text` change nothing but the text of the current value (a run inside
    /// a value, quoted or not, or a comment line), found with `memchr` rather than byte by byte. Line breaks
    /// among them are possible only inside a quoted value.
    #[inline]
    pub fn plain(&self, text: &[u8]) -> usize {
        let stop = match self.state {
            State::Unquoted => memchr::memchr2(self.delimiter, b'\n', text),
            State::Quoted => match self.escape {
                Some(escape) => memchr::memchr2(self.quote, escape, text),
                None => memchr::memchr(self.quote, text),
            },
            State::Comment => memchr::memchr(b'\n', text),
            State::FieldStart | State::QuoteInQuoted | State::Escaped => return 0,
        };
        stop.unwrap_or(text.len())
    }

    /// Reads `text`, skipping plain runs: `found(offset, fields)` for each record that ends (at the line break
    /// at `offset`), until it returns false. Returns whether the whole text was read.
    pub fn scan(&mut self, text: &[u8], mut found: impl FnMut(usize, usize) -> bool) -> bool {
        let mut i = 0;
        while i < text.len() {
            let plain = self.plain(&text[i..]);
            if plain > 0 {
                i += plain;
                continue;
            }
            if let Some(n) = self.push(text[i])
                && !found(i, n)
            {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Whether a record is under way (a part must end where none is).
    pub fn at_record_start(&self) -> bool {
        !self.started && matches!(self.state, State::FieldStart)
    }

    pub fn in_quotes(&self) -> bool {
        matches!(self.state, State::Quoted | State::Escaped)
    }

    fn end(&mut self) -> Option<usize> {
        let started = std::mem::replace(&mut self.started, false);
        let fields = std::mem::replace(&mut self.fields, 0) + 1;
        self.state = State::FieldStart;
        started.then_some(fields)
    }

    /// The end of the text: the last record's fields, if it lacks its line break.
    pub fn finish(&mut self) -> Option<usize> {
        if self.in_quotes() || !self.started {
            return None;
        }
        self.end()
    }
}

/// Whether a part ends inside a quoted value, found by jumping from quote to quote (`memchr`) instead of
/// reading every byte: a quote opens a quoted value only right after a delimiter, a line break or the part's
/// start; inside one, a doubled quote or the escape and a byte are text. This is all a well-formed part needs
/// checked as it streams by (Arrow's decoder counts the fields); where a check fails, the part is read again
/// with [`crate::part::Checker`] to say where and why. Not for dialects with comment lines (a quote in a
/// comment means nothing), which are checked with the `Checker` throughout.
#[derive(Debug, Clone)]
pub struct Quotes {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    inside: bool,
    /// Inside: the last byte was a quote (the end of the value, or the first of two).
    pending: bool,
    /// Inside: the last byte was the escape.
    escaped: bool,
    /// Outside: the last byte seen.
    last: u8,
}

impl Quotes {
    pub fn new(dialect: &Dialect) -> Self {
        Self {
            delimiter: dialect.delimiter,
            quote: dialect.quote,
            escape: dialect.escape,
            inside: false,
            pending: false,
            escaped: false,
            last: b'\n',
        }
    }

    pub fn feed(&mut self, text: &[u8]) {
        let mut i = 0;
        while i < text.len() {
            if self.escaped {
                self.escaped = false;
                i += 1;
                continue;
            }
            if self.pending {
                self.pending = false;
                if text[i] == self.quote {
                    i += 1;
                    continue;
                }
                self.inside = false;
                self.last = self.quote;
            }
            if self.inside {
                let found = match self.escape {
                    Some(escape) => memchr::memchr2(self.quote, escape, &text[i..]),
                    None => memchr::memchr(self.quote, &text[i..]),
                };
                let Some(k) = found else {
                    return;
                };
                let b = text[i + k];
                i += k + 1;
                if Some(b) == self.escape {
                    self.escaped = true;
                } else {
                    self.pending = true;
                }
            } else {
                let Some(k) = memchr::memchr(self.quote, &text[i..]) else {
                    self.last = text[text.len() - 1];
                    return;
                };
                let at = i + k;
                let before = if at > 0 { text[at - 1] } else { self.last };
                i = at + 1;
                if matches!(before, b'\n' | b'\r') || before == self.delimiter {
                    self.inside = true;
                } else {
                    self.last = self.quote;
                }
            }
        }
    }

    /// Whether the text so far ends inside a quoted value (a quote that may close it does not count).
    pub fn inside(&self) -> bool {
        self.inside && !self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: Dialect = Dialect {
        delimiter: b',',
        quote: b'"',
        escape: None,
        comment: None,
    };

    /// A file of `n` records `i,"text with a line break and, a comma",x`, after a header.
    fn file(n: usize) -> Vec<u8> {
        let mut text = b"id,note,tag\n".to_vec();
        for i in 0..n {
            text.extend_from_slice(
                format!("{i},\"line one\nline two, with a comma\n{i},a,b\",x\n").as_bytes(),
            );
        }
        text
    }

    /// The record starts of `text`, found by reading it from its beginning.
    fn record_starts(text: &[u8]) -> Vec<u64> {
        let mut fields = Fields::new(&CSV);
        let mut starts = vec![0];
        for (i, &b) in text.iter().enumerate() {
            if fields.push(b).is_some() {
                starts.push(i as u64 + 1);
            }
        }
        starts
    }

    fn decide_at(text: &[u8], offset: u64) -> Start {
        decide_fields(text, offset, 3)
    }

    fn decide_fields(text: &[u8], offset: u64, fields: usize) -> Start {
        let from = offset.saturating_sub(1) as usize;
        let to = (from + WINDOW as usize).min(text.len());
        decide(&text[from..to], offset, to == text.len(), &CSV, fields)
    }

    /// Every offset of `text` finds the first record that starts at or after it, as read from the start.
    fn assert_every_offset_finds_the_next_record(text: &[u8]) {
        let starts = record_starts(text);
        for offset in 1..text.len() as u64 {
            let expected = *starts
                .iter()
                .find(|&&s| s >= offset)
                .unwrap_or(&(text.len() as u64));
            assert_eq!(
                decide_at(text, offset),
                Start::At(expected),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn every_offset_finds_the_next_true_record_start() {
        // Line breaks inside quotes, and quoted lines that look like records of three fields.
        assert_every_offset_finds_the_next_record(&file(200));
    }

    #[test]
    fn a_short_tail_is_decided_by_the_end_of_the_file() {
        assert_every_offset_finds_the_next_record(&file(3));
    }

    #[test]
    fn without_a_plausible_start_in_the_window_it_is_undecided() {
        // One quoted value longer than the window: no record starts in it.
        let mut text = b"a,b\n1,\"".to_vec();
        text.extend(std::iter::repeat_n(b"xyz\n".as_slice(), 400_000).flatten());
        text.extend_from_slice(b"\"\n2,z\n");
        assert_eq!(decide_fields(&text, 100, 2), Start::Undecided);
    }

    /// 4,000 random texts (up to 120 bytes of `alphabet`) from `seed`, each with a dialect that varies the
    /// delimiter, the escape and (with `comments`) comment lines; `check` gets the text, its dialect and the
    /// random source.
    fn random_cases(
        seed: u64,
        alphabet: &[u8],
        comments: bool,
        mut check: impl FnMut(&[u8], Dialect, &mut dyn FnMut() -> u64),
    ) {
        let mut seed = seed;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..4_000 {
            let len = (next() % 120) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let dialect = Dialect {
                delimiter: if round % 2 == 0 { b',' } else { b';' },
                quote: b'"',
                escape: (round % 3 == 0).then_some(b'\\'),
                comment: (comments && round % 5 == 0).then_some(b'#'),
            };
            check(&text, dialect, &mut next);
        }
    }

    #[test]
    fn skipping_plain_runs_counts_the_same_fields_as_reading_byte_by_byte() {
        // Random texts over the bytes that matter, in every dialect variant: the records found and the state
        // at the end agree.
        random_cases(
            0x2545_f491_4f6c_dd1d,
            b"ab,;\"\n\r\\# ",
            true,
            |text, dialect, _| {
                let mut slow = Fields::new(&dialect);
                let by_byte: Vec<(usize, usize)> = text
                    .iter()
                    .enumerate()
                    .filter_map(|(i, &b)| slow.push(b).map(|n| (i, n)))
                    .collect();
                let mut fast = Fields::new(&dialect);
                let mut skipped = Vec::new();
                assert!(fast.scan(text, |i, n| {
                    skipped.push((i, n));
                    true
                }));
                let shown = String::from_utf8_lossy(text);
                assert_eq!(by_byte, skipped, "{shown:?}");
                assert_eq!(slow.in_quotes(), fast.in_quotes(), "{shown:?}");
                assert_eq!(slow.at_record_start(), fast.at_record_start(), "{shown:?}");
                assert_eq!(slow.finish(), fast.finish(), "{shown:?}");
            },
        );
    }

    #[test]
    fn jumping_from_quote_to_quote_agrees_with_the_field_scan_on_whether_a_value_is_open() {
        // Random texts (no comment lines, no carriage returns: the field scan ignores those) fed in random
        // pieces: after every piece, both agree on whether a quoted value is open.
        random_cases(
            0x9e37_79b9_7f4a_7c15,
            b"ab,;\"\n\\ ",
            false,
            |text, dialect, next| {
                let mut fields = Fields::new(&dialect);
                let mut quotes = Quotes::new(&dialect);
                let mut at = 0;
                while at < text.len() {
                    let piece = 1 + (next() % 17) as usize;
                    let end = (at + piece).min(text.len());
                    for &b in &text[at..end] {
                        fields.push(b);
                    }
                    quotes.feed(&text[at..end]);
                    assert_eq!(
                        fields.in_quotes(),
                        quotes.inside(),
                        "{:?} after {end} bytes",
                        String::from_utf8_lossy(text)
                    );
                    at = end;
                }
            },
        );
    }

    #[test]
    fn fields_follow_the_readers_quoting_rules() {
        let count = |text: &[u8], dialect: &Dialect| {
            let mut f = Fields::new(dialect);
            let mut out = Vec::new();
            for &b in text {
                out.extend(f.push(b));
            }
            out.extend(f.finish());
            out
        };
        assert_eq!(
            count(b"a,b\r\n\r\n1,5\" screen\n\"x\"\"y\",2", &CSV),
            vec![2, 2, 2]
        );
        let escaped = Dialect {
            escape: Some(b'\\'),
            comment: Some(b'#'),
            ..CSV
        };
        assert_eq!(count(b"# note, here\n1,\"a\\\",b\",c\n", &escaped), vec![3]);
    }
}
