//! The Snappy-compressed pages of Parquet files, as raw bytes, and the decoders to compare on them.
//!
//! The footer is read with the `parquet` crate (column chunk ranges, physical types, codecs); the pages of each
//! chunk are walked here with a small Thrift compact-protocol reader, because parquet 59 keeps its page header
//! type private and its page reader decompresses on its own.

use std::fs::File;
use std::path::Path;

use parquet::basic::{Compression, Type as PhysicalType};
use parquet::file::metadata::ParquetMetaDataReader;

/// One compressed page: what a decoder is given and how long its output must be.
pub struct Page {
    /// `column (PHYSICAL, data|dict)`: the group a page is reported in.
    pub kind: String,
    pub physical: PhysicalType,
    pub compressed: Vec<u8>,
    pub uncompressed_len: usize,
}

/// Every Snappy-compressed page of a Parquet file (chunks with another codec are skipped).
pub fn snappy_pages(path: &Path) -> Result<Vec<Page>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&file)
        .map_err(|e| format!("{}: not a Parquet file ({e})", path.display()))?;
    let mut pages = Vec::new();
    for group in meta.row_groups() {
        for column in group.columns() {
            if !matches!(column.compression(), Compression::SNAPPY) {
                continue;
            }
            let (start, len) = column.byte_range();
            let (start, end) = (start as usize, (start + len) as usize);
            let chunk = bytes
                .get(start..end)
                .ok_or_else(|| format!("{}: a column chunk past the end", path.display()))?;
            let name = column.column_path().string();
            walk_chunk(chunk, &name, column.column_type(), &mut pages)
                .map_err(|e| format!("{}: column {name}: {e}", path.display()))?;
        }
    }
    Ok(pages)
}

fn walk_chunk(
    chunk: &[u8],
    name: &str,
    physical: PhysicalType,
    out: &mut Vec<Page>,
) -> Result<(), String> {
    let mut at = 0;
    while at < chunk.len() {
        let mut reader = Compact { bytes: chunk, at };
        let header = reader.page_header()?;
        let body_start = reader.at;
        let body = chunk
            .get(body_start..body_start + header.compressed_size)
            .ok_or("a page body past the chunk's end")?;
        at = body_start + header.compressed_size;
        // Page types: 0 data, 2 dictionary, 3 data v2 (levels stored uncompressed before the values).
        let (label, skip) = match header.page_type {
            0 => ("data", 0),
            2 => ("dict", 0),
            3 if header.v2_compressed => ("data", header.v2_levels_len),
            _ => continue,
        };
        let compressed = body
            .get(skip..)
            .ok_or("levels longer than the page")?
            .to_vec();
        let uncompressed_len = header
            .uncompressed_size
            .checked_sub(skip)
            .ok_or("levels longer than the uncompressed page")?;
        out.push(Page {
            kind: format!("{name} ({physical}, {label})"),
            physical,
            compressed,
            uncompressed_len,
        });
    }
    Ok(())
}

struct PageHeader {
    page_type: i64,
    uncompressed_size: usize,
    compressed_size: usize,
    v2_levels_len: usize,
    v2_compressed: bool,
}

/// A reader of the Thrift compact protocol, enough for a page header and skipping what it does not need.
struct Compact<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Compact<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or("a page header past the chunk's end")?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than 10 bytes".into())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// The next field of a struct: (id, type), or None at the struct's end.
    fn field(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>, String> {
        let b = self.byte()?;
        if b == 0 {
            return Ok(None);
        }
        let delta = (b >> 4) as i16;
        *last = if delta == 0 {
            self.zigzag()? as i16
        } else {
            *last + delta
        };
        Ok(Some((*last, b & 0x0f)))
    }

    fn skip(&mut self, kind: u8) -> Result<(), String> {
        match kind {
            1 | 2 => {}
            3 => self.at += 1,
            4..=6 => {
                self.varint()?;
            }
            7 => self.at += 8,
            8 => {
                let len = self.varint()? as usize;
                self.at += len;
            }
            9 | 10 => {
                let head = self.byte()?;
                let size = if head >> 4 == 15 {
                    self.varint()? as usize
                } else {
                    (head >> 4) as usize
                };
                let element = head & 0x0f;
                for _ in 0..size {
                    if element == 1 || element == 2 {
                        self.at += 1;
                    } else {
                        self.skip(element)?;
                    }
                }
            }
            11 => {
                let size = self.varint()? as usize;
                if size > 0 {
                    let types = self.byte()?;
                    for _ in 0..size {
                        self.skip(types >> 4)?;
                        self.skip(types & 0x0f)?;
                    }
                }
            }
            12 => {
                let mut last = 0;
                while let Some((_, t)) = self.field(&mut last)? {
                    self.skip(t)?;
                }
            }
            other => return Err(format!("Thrift type {other} in a page header")),
        }
        if self.at > self.bytes.len() {
            return Err("a page header past the chunk's end".into());
        }
        Ok(())
    }

    fn size(&mut self) -> Result<usize, String> {
        usize::try_from(self.zigzag()?).map_err(|_| "a negative page size".to_string())
    }

    fn page_header(&mut self) -> Result<PageHeader, String> {
        let mut header = PageHeader {
            page_type: -1,
            uncompressed_size: 0,
            compressed_size: 0,
            v2_levels_len: 0,
            v2_compressed: true,
        };
        let mut last = 0;
        while let Some((id, t)) = self.field(&mut last)? {
            match (id, t) {
                (1, 5) => header.page_type = self.zigzag()?,
                (2, 5) => header.uncompressed_size = self.size()?,
                (3, 5) => header.compressed_size = self.size()?,
                (8, 12) => {
                    let mut last = 0;
                    while let Some((id, t)) = self.field(&mut last)? {
                        match (id, t) {
                            (5 | 6, 5) => header.v2_levels_len += self.size()?,
                            (7, 1) => header.v2_compressed = true,
                            (7, 2) => header.v2_compressed = false,
                            _ => self.skip(t)?,
                        }
                    }
                }
                _ => self.skip(t)?,
            }
        }
        Ok(header)
    }
}

/// The decoders compared. Each writes one page into a fresh buffer, as parquet's page reader does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// `snap` 1.1.2 into a zero-filled buffer: parquet 59 today.
    Snap,
    /// `snipsnap` through the same `snap::raw::Decoder` call (zero-filled buffer): parquet 59 with the shim.
    Snipsnap,
    /// `snipsnap` into uninitialised capacity: what parquet would get with arrow-rs #10086's codec change.
    SnipsnapUninit,
}

impl Decoder {
    pub const ALL: [Decoder; 3] = [Decoder::Snap, Decoder::Snipsnap, Decoder::SnipsnapUninit];

    pub fn name(self) -> &'static str {
        match self {
            Decoder::Snap => "snap",
            Decoder::Snipsnap => "snipsnap",
            Decoder::SnipsnapUninit => "snipsnap, no zero-fill",
        }
    }

    /// Decodes `input` whose output is `len` bytes long; an error as text.
    pub fn decode(self, input: &[u8], len: usize) -> Result<Vec<u8>, String> {
        match self {
            Decoder::Snap => {
                let mut out = vec![0; len];
                let n = snap::raw::Decoder::new()
                    .decompress(input, &mut out)
                    .map_err(|e| e.to_string())?;
                out.truncate(n);
                Ok(out)
            }
            Decoder::Snipsnap => {
                let mut out = vec![0; len];
                let n = snipsnap::raw::Decoder::new()
                    .decompress(input, &mut out)
                    .map_err(|e| e.to_string())?;
                out.truncate(n);
                Ok(out)
            }
            Decoder::SnipsnapUninit => {
                let mut out = Vec::with_capacity(len);
                snipsnap::decompress_to_vec(input, &mut out).map_err(|e| e.to_string())?;
                Ok(out)
            }
        }
    }
}

/// A small deterministic generator (xorshift64*) for corpora and corruptions; no dependency needed.
pub struct Rng(pub u64);

impl Rng {
    pub fn word(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.word() % n.max(1) as u64) as usize
    }
}

/// Page-like buffers of the shapes Parquet writes: PLAIN timestamps (sorted and random), dictionary indices
/// (bit-packed runs), short repeated strings with length prefixes, incompressible bytes, and tiny pages.
pub fn generated_pages(rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut pages = Vec::new();
    let mut sorted = Vec::new();
    let mut t: i64 = 1_700_000_000_000_000;
    for _ in 0..16_384 {
        t += rng.below(90_000_000) as i64;
        sorted.extend_from_slice(&t.to_le_bytes());
    }
    pages.push(("sorted INT64 timestamps".to_string(), sorted));
    let random: Vec<u8> = (0..16_384)
        .flat_map(|_| (rng.word() as i64 >> 8).to_le_bytes())
        .collect();
    pages.push(("random INT64".to_string(), random));
    let indices: Vec<u8> = (0..65_536)
        .map(|_| (rng.below(6) as u8) | ((rng.below(6) as u8) << 4))
        .collect();
    pages.push(("dictionary indices".to_string(), indices));
    let words = [
        "email", "chat", "phone", "web", "social", "urgent", "normal", "low",
    ];
    let mut strings = Vec::new();
    for _ in 0..20_000 {
        let w = words[rng.below(words.len())];
        strings.extend_from_slice(&(w.len() as u32).to_le_bytes());
        strings.extend_from_slice(w.as_bytes());
    }
    pages.push(("PLAIN strings".to_string(), strings));
    let noise: Vec<u8> = (0..40_000).map(|_| rng.word() as u8).collect();
    pages.push(("incompressible".to_string(), noise));
    pages.push(("long run".to_string(), vec![7u8; 200_000]));
    for len in [0usize, 1, 15, 16, 17, 63, 64, 65, 1023, 1024, 1025] {
        let tiny: Vec<u8> = (0..len)
            .map(|i| (i % 3) as u8 + rng.below(2) as u8)
            .collect();
        pages.push((format!("{len} bytes"), tiny));
    }
    pages
}
