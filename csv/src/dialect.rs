//! How a CSV file writes its records and fields: the delimiter, the quote, the escape and comment bytes.

/// How records and fields are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    pub quote: u8,
    /// `None`: a quote inside a quoted value is doubled.
    pub escape: Option<u8>,
    /// Lines starting with this byte are skipped.
    pub comment: Option<u8>,
}

/// What the user fixed; sniffing decides the rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fixed {
    pub delimiter: Option<u8>,
    pub quote: Option<u8>,
    pub escape: Option<Option<u8>>,
    pub comment: Option<Option<u8>>,
}

/// The delimiters sniffing tries, in its tie order.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// `,` → "','", tab → "tab".
pub fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        d => format!("'{}'", d as char),
    }
}
