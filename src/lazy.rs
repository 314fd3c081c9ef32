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
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{ViewTable, provider_as_source};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::LogicalPlanBuilder;

use crate::csv_schema::{self, CsvDialect};

/// How to build a listing table when it is first used.
#[derive(Debug, Clone)]
pub struct ListingRecipe {
    /// Where the files are, as the user wrote it (for messages).
    pub location: String,
    pub url: ListingTableUrl,
    pub options: ListingOptions,
    /// The schema when it is known without reading the files.
    pub schema: Option<SchemaRef>,
    /// CSV tables: how the files are written; cxsql infers their schema itself (see `csv_schema`).
    pub csv: Option<CsvDialect>,
}

#[derive(Debug, Clone)]
enum Entry {
    Ready(Arc<dyn TableProvider>),
    Pending(Box<ListingRecipe>),
}

/// The session's default schema: tables registered ready (views, `CREATE TABLE`) or as recipes.
#[derive(Debug)]
pub struct LazySchema {
    tables: RwLock<BTreeMap<String, Entry>>,
    state: Weak<parking_lot::RwLock<SessionState>>,
}

impl LazySchema {
    /// An empty schema whose recipes are built with the session `state`.
    pub fn new(state: Weak<parking_lot::RwLock<SessionState>>) -> Self {
        Self {
            tables: RwLock::new(BTreeMap::new()),
            state,
        }
    }

    /// Registers `name` to be built from `recipe` on first use (replacing any table of that name).
    pub fn register_recipe(&self, name: &str, recipe: ListingRecipe) {
        self.write()
            .insert(name.to_string(), Entry::Pending(Box::new(recipe)));
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
        let mut conversions = Vec::new();
        let schema = match (&recipe.schema, &recipe.csv) {
            (Some(schema), _) => Arc::clone(schema),
            (None, Some(dialect)) => match csv_schema::infer(&state, &recipe.url, dialect).await? {
                Some(inferred) => {
                    conversions = inferred.conversions;
                    inferred.schema
                }
                None => recipe.options.infer_schema(&state, &recipe.url).await?,
            },
            (None, None) => recipe.options.infer_schema(&state, &recipe.url).await?,
        };
        let config = ListingTableConfig::new(recipe.url.clone())
            .with_listing_options(recipe.options.clone())
            .with_schema(schema);
        let table = Arc::new(
            ListingTable::try_new(config)?
                .with_cache(state.runtime_env().cache_manager.get_file_statistic_cache()),
        );
        if conversions.is_empty() {
            return Ok(table);
        }
        // Text columns read with the catalog's timestamp/date format: a view over the files that converts
        // them (filters and projections still reach the files through the optimizer).
        let exprs = csv_schema::projection(&state, &table.schema(), &conversions)?;
        let plan = LogicalPlanBuilder::scan(name, provider_as_source(table), None)?
            .project(exprs)?
            .build()?;
        Ok(Arc::new(ViewTable::new(plan, None)))
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
            Some(Entry::Pending(_)) => return Ok(Some(TableType::Base)),
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
        tables.insert(name, Entry::Ready(table));
        Ok(None)
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
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
