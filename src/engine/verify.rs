//! Checks of a table's files made when the table is first used, before DataFusion reads them, so that a
//! damaged file gets an error naming it instead of a panic.
//!
//! - Parquet: every file's footer is read: the `PAR1` magic, a metadata length that fits in the file (parquet
//!   59 subtracts that length from the file size unchecked and panics when it is larger), and the Arrow
//!   schema the metadata embeds (`ARROW:schema`), which arrow-ipc 59 decodes with `panic!`/`unimplemented!`
//!   on values it does not know (a damaged type id, a bit width out of range).
//! - CSV files are checked while they are read (cxsql-csv's checker): field counts, quotes left open, UTF-8.

use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::listing::ListingTableUrl;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt as _;

use cxsql_csv::{TableFiles, display_name};

/// Files checked at once (object stores answer many small requests in parallel).
const CONCURRENCY: usize = 16;

/// Checks the footer of every Parquet file of the table at `url`.
pub async fn parquet_footers(url: &ListingTableUrl, listed: &TableFiles) -> Result<()> {
    futures::stream::iter(listed.files.iter().cloned())
        .map(|file| {
            let store = Arc::clone(&listed.store);
            async move {
                let name = display_name(url, &file);
                if file.size < 12 {
                    let problem = footer_problem(file.size, None).unwrap_or_default();
                    return Err(DataFusionError::Execution(format!("{name}: {problem}")));
                }
                // The footer in one request: its last FOOTER_READ bytes hold the metadata of most files.
                let read = file.size.min(FOOTER_READ);
                let end = store
                    .get_range(&file.location, file.size - read..file.size)
                    .await?;
                let tail = &end[end.len() - 8..];
                if let Some(problem) = footer_problem(file.size, Some(tail)) {
                    return Err(DataFusionError::Execution(format!("{name}: {problem}")));
                }
                let length = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
                let metadata = if length + 8 <= read {
                    end.slice((read - 8 - length) as usize..(read - 8) as usize)
                } else {
                    store
                        .get_range(&file.location, file.size - 8 - length..file.size - 8)
                        .await?
                };
                metadata_problem(&metadata).map_or(Ok(()), |problem| {
                    Err(DataFusionError::Execution(format!("{name}: {problem}")))
                })
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Bytes read from the end of each Parquet file to check its footer: the metadata of most files fits.
const FOOTER_READ: u64 = 64 * 1024;

/// What is wrong with a Parquet file's footer metadata (the thrift `FileMetaData`), if anything that parquet
/// would panic on rather than report. Metadata that does not decode is left to DataFusion's reader, whose
/// error names the problem.
fn metadata_problem(metadata: &[u8]) -> Option<String> {
    use datafusion::parquet::arrow::parquet_to_arrow_schema;
    use datafusion::parquet::file::metadata::ParquetMetaDataReader;

    let decoded = ParquetMetaDataReader::decode_metadata(metadata).ok()?;
    let file = decoded.file_metadata();
    let embeds_schema = file
        .key_value_metadata()
        .is_some_and(|kv| kv.iter().any(|kv| kv.key == "ARROW:schema"));
    if !embeds_schema {
        return None;
    }
    crate::guard::quietly(|| parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata()))
        .err()
        .map(|panic| {
            format!(
                "corrupt Parquet metadata: the Arrow schema it embeds (ARROW:schema) cannot be decoded ({panic})"
            )
        })
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

#[cfg(test)]
mod tests {
    use super::*;

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
