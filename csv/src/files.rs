//! A table's files, listed once, and the names the user knows them by.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::context::SessionState;
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore};

/// The files of a table, in name order, with the store they are in: listed once when the table is first
/// used, for the checks of Parquet footers and for CSV schema inference.
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
