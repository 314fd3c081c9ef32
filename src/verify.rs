//! Checks of a table's files made when the table is first used, before DataFusion reads them, so that a
//! damaged file gets an error naming it instead of a panic.
//!
//! - Parquet: every file's last 8 bytes are read: the `PAR1` magic, and a metadata length that fits in the
//!   file. (parquet 59 subtracts that length from the file size unchecked and panics when it is larger.)
//! - CSV files are checked while they are read (`csv_part::Checker`): field counts, quotes left open, UTF-8.

use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::context::SessionState;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt as _};

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
