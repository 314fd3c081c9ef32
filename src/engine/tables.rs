//! Tables whose schema is read when a query first uses them.
//!
//! Registering a listing table makes DataFusion read the footer (Parquet) or the first records (CSV, JSON) of
//! every file to infer its schema. A data folder or a catalog can hold many tables, on object storage too, and
//! one command usually reads one or two of them: this schema provider keeps each file table as a recipe and
//! infers its schema when planning first asks for the table (a query, `schema NAME`, the shell's completion).
//! On the benchmark's 48-file tables that is 10 ms per table not spent at the start of every command, and a
//! table that cannot be read only fails the queries that read it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, Weak};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SessionState;

use crate::engine::verify;
use cxsql_csv::CsvFiles;
use cxsql_csv::CsvOptions;
use cxsql_csv::TableFiles;

/// How to build a listing table when it is first used.
#[derive(Debug, Clone)]
pub struct ListingRecipe {
    /// Where the files are, as the user wrote it (for messages).
    pub location: String,
    pub url: ListingTableUrl,
    pub options: ListingOptions,
    /// The schema when it is known without reading the files.
    pub schema: Option<SchemaRef>,
    /// CSV tables: how the files are written; cxsql infers their schema itself (see cxsql-csv's `infer`).
    pub csv: Option<CsvOptions>,
}

#[derive(Debug, Clone)]
enum Entry {
    Ready(Arc<dyn TableProvider>),
    Pending(Box<ListingRecipe>),
    /// A name that cannot be a table (an odd entry of a data folder, two files claiming one name): every
    /// statement that uses it fails with this message, the others run.
    Broken {
        location: String,
        reason: String,
    },
}

/// The session's default schema: tables registered ready (views, `CREATE TABLE`) or as recipes.
#[derive(Debug)]
pub struct LazySchema {
    tables: RwLock<BTreeMap<String, Entry>>,
    /// Where each table registered from a recipe reads its files (kept once it is built).
    origins: RwLock<BTreeMap<String, ListingTableUrl>>,
    /// What sniffing found for each CSV table built so far (`cxsql sniff`).
    sniffed: RwLock<BTreeMap<String, cxsql_csv::SniffReport>>,
    state: Weak<parking_lot::RwLock<SessionState>>,
}

impl LazySchema {
    /// An empty schema whose recipes are built with the session `state`.
    pub fn new(state: Weak<parking_lot::RwLock<SessionState>>) -> Self {
        Self {
            tables: RwLock::new(BTreeMap::new()),
            origins: RwLock::new(BTreeMap::new()),
            sniffed: RwLock::new(BTreeMap::new()),
            state,
        }
    }

    /// What sniffing found in CSV table `name`, once it has been built.
    pub fn sniffed(&self, name: &str) -> Option<cxsql_csv::SniffReport> {
        self.sniffed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Registers `name` to be built from `recipe` on first use (replacing any table of that name).
    pub fn register_recipe(&self, name: &str, recipe: ListingRecipe) {
        self.origins
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), recipe.url.clone());
        self.write()
            .insert(name.to_string(), Entry::Pending(Box::new(recipe)));
    }

    /// Registers a name that fails every statement using it with `reason`.
    pub fn register_broken(&self, name: &str, location: &str, reason: &str) {
        self.write().insert(
            name.to_string(),
            Entry::Broken {
                location: location.to_string(),
                reason: reason.to_string(),
            },
        );
    }

    /// Why `name` cannot be read, when it is a broken entry.
    pub fn broken(&self, name: &str) -> Option<String> {
        match self.read().get(name) {
            Some(Entry::Broken { reason, .. }) => Some(reason.clone()),
            _ => None,
        }
    }

    /// Where a broken entry points.
    pub fn broken_location(&self, name: &str) -> Option<String> {
        match self.read().get(name) {
            Some(Entry::Broken { location, .. }) => Some(location.clone()),
            _ => None,
        }
    }

    /// Where the tables read files: recipes (built or not) and listing tables created with SQL.
    pub fn file_locations(&self) -> Vec<(String, ListingTableUrl)> {
        let origins = self.origins.read().unwrap_or_else(|e| e.into_inner());
        let mut found = Vec::new();
        for (name, entry) in self.read().iter() {
            match entry {
                Entry::Pending(recipe) => found.push((name.clone(), recipe.url.clone())),
                Entry::Ready(table) => {
                    if let Some(listing) = table.downcast_ref::<ListingTable>() {
                        found.extend(
                            listing
                                .table_paths()
                                .iter()
                                .map(|u| (name.clone(), u.clone())),
                        );
                    } else if let Some(url) = origins.get(name) {
                        found.push((name.clone(), url.clone()));
                    }
                }
                Entry::Broken { .. } => {}
            }
        }
        found
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Entry>> {
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }

    async fn build(&self, name: &str, recipe: &ListingRecipe) -> Result<Arc<dyn TableProvider>> {
        let Some(state) = self.state.upgrade() else {
            return exec_err!("table {name}: the session is gone");
        };
        let state = state.read().clone();
        // Damaged files get an error naming them here, not a panic or a wrong count later. The files are
        // listed once, for these checks and for CSV inference.
        let parquet = recipe.options.format.is::<ParquetFormat>();
        let listed = if recipe.csv.is_some() || parquet {
            Some(TableFiles::list(&state, &recipe.url, &recipe.options.file_extension).await?)
        } else {
            None
        };
        if let (Some(listed), None) = (&listed, &recipe.csv) {
            verify::parquet_footers(&recipe.url, listed).await?;
        }
        let mut options = recipe.options.clone();
        // CSV: encoding, dialect, header and names sniffed from a sample of the first file; the types
        // inferred; the files then read by cxsql's reader, which checks every record as it reads (see
        // cxsql-csv's `part`).
        let mut sample = None;
        if let (Some(listed), Some(dialect)) = (&listed, &recipe.csv) {
            sample = cxsql_csv::sample(&recipe.url, listed, dialect).await?;
        }
        let schema = match (&recipe.schema, &recipe.csv, sample) {
            (Some(schema), _, _) => Arc::clone(schema),
            (None, Some(dialect), Some(sample)) => {
                let (reasons, encoding, written, header) = (
                    sample.reasons.clone(),
                    sample.encoding,
                    sample.dialect,
                    sample.header,
                );
                let inferred = cxsql_csv::infer(sample, dialect)?;
                let (decimal_comma, dates) = inferred.reading.locale();
                let report = cxsql_csv::SniffReport {
                    decimal_comma,
                    dates,
                    location: recipe.location.clone(),
                    encoding,
                    dialect: written,
                    header,
                    reasons,
                    columns: inferred
                        .schema
                        .fields()
                        .iter()
                        .zip(&inferred.why)
                        .map(|(f, why)| (f.name().clone(), f.data_type().clone(), why.clone()))
                        .collect(),
                };
                self.sniffed
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.to_string(), report);
                if let Some(csv) = options.format.downcast_ref::<CsvFiles>() {
                    options.format = Arc::new(csv.reading(Arc::new(inferred.reading)));
                }
                inferred.schema
            }
            (None, _, _) => options.infer_schema(&state, &recipe.url).await?,
        };
        let config = ListingTableConfig::new(recipe.url.clone())
            .with_listing_options(options)
            .with_schema(schema);
        let table = Arc::new(
            ListingTable::try_new(config)?
                .with_cache(state.runtime_env().cache_manager.get_file_statistic_cache()),
        );
        Ok(table)
    }
}

#[async_trait]
impl SchemaProvider for LazySchema {
    fn table_names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let recipe = match self.read().get(name) {
            None => return Ok(None),
            Some(Entry::Ready(table)) => return Ok(Some(Arc::clone(table))),
            Some(Entry::Pending(recipe)) => recipe.clone(),
            Some(Entry::Broken { location, reason }) => {
                return Err(DataFusionError::Execution(format!(
                    "table {name} ({location}): {reason}"
                )));
            }
        };
        let table = self.build(name, &recipe).await.map_err(|e| {
            let reason = match e {
                DataFusionError::Execution(message) => message,
                other => other.strip_backtrace(),
            };
            DataFusionError::Execution(format!("table {name} ({}): {reason}", recipe.location))
        })?;
        let mut tables = self.write();
        // Another query may have built it meanwhile, or replaced the recipe: keep what is there then.
        match tables.get(name) {
            Some(Entry::Pending(current)) if current.location == recipe.location => {
                tables.insert(name.to_string(), Entry::Ready(Arc::clone(&table)));
                Ok(Some(table))
            }
            Some(Entry::Ready(current)) => Ok(Some(Arc::clone(current))),
            _ => Ok(Some(table)),
        }
    }

    async fn table_type(&self, name: &str) -> Result<Option<TableType>> {
        let ready = match self.read().get(name) {
            None => return Ok(None),
            Some(Entry::Pending(_) | Entry::Broken { .. }) => return Ok(Some(TableType::Base)),
            Some(Entry::Ready(table)) => Arc::clone(table),
        };
        Ok(Some(ready.table_type()))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        let mut tables = self.write();
        // A recipe that was never built may be replaced: DataFusion checks for an existing table by building
        // it first, so only a table that cannot be read gets here, and `CREATE OR REPLACE` must replace it.
        if let Some(Entry::Ready(_)) = tables.get(&name) {
            return exec_err!("The table {name} already exists");
        }
        self.origins
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&name);
        tables.insert(name, Entry::Ready(table));
        Ok(None)
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        self.origins
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        Ok(match self.write().remove(name) {
            Some(Entry::Ready(table)) => Some(table),
            // Never built: nothing was read, and there is no provider to hand back.
            _ => None,
        })
    }

    fn table_exist(&self, name: &str) -> bool {
        self.read().contains_key(name)
    }
}
