//! cxsql-csv: reading CSV exports as helpdesks and spreadsheets write them, as a DataFusion
//! [`FileFormat`](datafusion::datasource::file_format::FileFormat). Depends on DataFusion and nothing of cxsql's.
//!
//! The read path, in the order a table meets it:
//!
//! 1. **Options** ([`CsvOptions`]): what the user fixed (delimiter, header, encoding, formats, column types);
//!    everything left open is sniffed.
//! 2. **Sample** ([`sample`], module `infer`): when the table is first used, the first bytes of its first file
//!    (any object store, decompressed) are decoded from their encoding and sniffed (module `sniff`: encoding,
//!    [`Dialect`], header, column names; module `locale`: numbers with a decimal comma, day-first dates,
//!    durations).
//! 3. **Inference** ([`infer`]): Arrow infers the standard types; the text columns the sample shows to be
//!    locale values get a conversion (`part::Convert`). The result is the table's schema and a
//!    [`CsvReading`] (module `reading`): dialect, encoding, conversions, whether parts may be read in parallel.
//! 4. **Format** ([`CsvFiles`], module `format`): the `FileFormat` of the table. Once it carries the reading,
//!    its file source is [`CsvTableSource`] (module `source`).
//! 5. **Reading** (module `source`): each file is cut into byte ranges; module `split` finds where a record
//!    starts after an offset (quoted line breaks included); module `part` reads a range (decompress, decode
//!    to UTF-8, check field counts and quotes, convert locale columns) with Arrow's decoder, or with module
//!    `decode`'s projecting decoder for the common dialect. Every error names the file, the record, the
//!    column and the value (module `files` says how a file is named).
//!
//! Module arrows (no circles; checked by cxsql's `tests/cli/architecture.rs`): `format → {source, part,
//! reading, files}`, `source → {decode, part, split, reading, files}`, `infer → {sniff, locale, dialect, part,
//! decode, reading, files}`, `reading → {part, locale, dialect}`, `sniff` and `part → {split, locale,
//! dialect}`, `split → dialect`; `decode`, `dialect`, `locale` and `files` use no other module.

mod decode;
mod dialect;
mod files;
mod format;
mod infer;
mod locale;
mod part;
mod reading;
mod sniff;
mod source;
mod split;

pub use dialect::{DELIMITERS, Dialect, Fixed, delimiter_name};
pub use files::{TableFiles, display_name, display_name_in};
pub use format::CsvFiles;
pub use infer::{CsvOptions, Inferred, Reasons, Sample, SniffReport, infer, sample, sql_type_name};
pub use locale::Order;
pub use reading::CsvReading;
pub use sniff::encoding_for_label;
pub use source::CsvTableSource;
