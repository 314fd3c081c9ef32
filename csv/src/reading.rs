//! How a table's CSV files are read: what inference decided on the first use of the table, and what every
//! reader of its files follows.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;

use crate::dialect::Dialect;
use crate::locale::{Locale, Order};
use crate::part::Convert;

/// How a table's CSV files are read, decided when the table is first used.
#[derive(Debug)]
pub struct CsvReading {
    pub dialect: Dialect,
    pub header: bool,
    pub encoding: &'static encoding_rs::Encoding,
    pub compression: FileCompressionType,
    pub null_regex: Option<regex::Regex>,
    /// The file columns with the types Arrow's decoder reads (text for the converted ones).
    pub read_schema: SchemaRef,
    /// For each file column, how it is converted from text, if it is.
    pub converts: Vec<Option<Convert>>,
    /// For each file column, whether its type was declared in the catalog (else detected).
    pub declared: Vec<bool>,
    /// Whether one large file may be read in parts by all cores (see [`crate::split`]): uncompressed
    /// files in an encoding where a line break is the byte `\n`, unless the catalog says `parallel = false`.
    pub parallel: bool,
}

impl CsvReading {
    /// Whether some column is read with a decimal comma, and the order of day and month dates are read in.
    pub fn locale(&self) -> (bool, Option<Order>) {
        fn locale(c: &Convert) -> Option<Locale> {
            match c {
                Convert::Locale(l) => Some(*l),
                Convert::Cast { first, .. } => first.as_deref().and_then(locale),
                _ => None,
            }
        }
        let locales: Vec<Locale> = self.converts.iter().flatten().filter_map(locale).collect();
        let dates = locales.iter().find_map(|l| match l {
            Locale::Date(o) | Locale::Timestamp(o) if *o != Order::YearFirst => Some(*o),
            _ => None,
        });
        (locales.contains(&Locale::DecimalComma), dates)
    }
}
