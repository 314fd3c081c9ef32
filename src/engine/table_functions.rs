//! Saved queries as table functions: every query of the queries folder is callable in SQL by its name,
//! `SELECT * FROM nps_by_channel('2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z') WHERE responses > 100`.
//!
//! Arguments are taken in the order of the query's `-- param:` header; trailing ones may be left out for
//! their defaults. Each must be a constant (a literal, or an expression of literals such as
//! `now() - INTERVAL '30 days'`); text is parsed to the declared type and other values cast to it, with the
//! same rules and messages as `--param`. An argument may also be a parameter of the calling statement (`$since`
//! in a saved query that calls another, `$1` in a prepared statement of the server): it is bound when the
//! caller's are. The values are bound to the query's `$name` placeholders, never pasted into its SQL.
//!
//! DataFusion asks a table function for its table while it plans, synchronously, but planning a saved query
//! reads the schemas of the tables it uses (the first use of a CSV or Parquet table reads files). So
//! [`prepare`] runs first, on the one execution path ([`crate::engine::exec`]): it finds the saved queries a statement
//! calls (and those they call), plans each once with placeholders, and registers it in the statement's own
//! copy of the session state; the call then only binds the values. A saved query that calls itself, directly
//! or not, is an error.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, ScalarValue, TableReference, plan_err};
use datafusion::datasource::ViewTable;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::expr::Placeholder;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Cast, Expr, LogicalPlan};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::sql::parser::Statement;

use crate::engine::params::{ParamValue, Params, sql_type};
use crate::engine::saved::SavedQuery;
use crate::error::{Error, Result};

/// The saved queries of a folder, by name: each is a table function of the sessions opened with it.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// The folder they come from.
    pub folder: Option<PathBuf>,
    queries: BTreeMap<String, Entry>,
}

/// One saved query of the folder, or why its file cannot be one.
#[derive(Debug, Clone)]
enum Entry {
    Ready(Arc<SavedQuery>),
    /// The file's header is wrong: calling it fails with this message; the other queries work.
    Broken {
        file: PathBuf,
        message: String,
    },
}

impl Library {
    /// The `.sql` files of `folder`. Two files declaring one name are an error naming both; a file whose
    /// header cannot be read is kept as a function that fails with the reason when called.
    pub fn load(folder: &Path) -> Result<Self> {
        let mut queries = BTreeMap::new();
        let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
        for file in SavedQuery::files_in(folder)? {
            let (name, entry) = match SavedQuery::load(&file) {
                Ok(query) => (query.name.clone(), Entry::Ready(Arc::new(query))),
                Err(e) => (
                    file.file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    Entry::Broken {
                        file: file.clone(),
                        message: e.to_string(),
                    },
                ),
            };
            if let Some(first) = files.get(&name) {
                return Err(Error::Usage(format!(
                    "saved queries {} and {} are both named {name}; give each its own `-- name:`",
                    first.display(),
                    file.display()
                )));
            }
            files.insert(name.clone(), file);
            queries.insert(name, entry);
        }
        Ok(Self {
            folder: Some(folder.to_path_buf()),
            queries,
        })
    }

    /// [`Self::load`], a missing folder being an error naming it.
    pub fn load_folder(folder: &Path) -> Result<Self> {
        if !folder.is_dir() {
            return Err(Error::Usage(format!(
                "queries folder {}: no such folder",
                folder.display()
            )));
        }
        Self::load(folder)
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.queries.keys().map(String::as_str)
    }

    /// The saved queries that could be read, in name order.
    pub fn queries(&self) -> impl Iterator<Item = &SavedQuery> {
        self.queries.values().filter_map(|e| match e {
            Entry::Ready(q) => Some(q.as_ref()),
            Entry::Broken { .. } => None,
        })
    }

    /// The file of saved query `name`.
    pub fn file(&self, name: &str) -> Option<&Path> {
        self.queries.get(name).map(|e| match e {
            Entry::Ready(q) => q.path.as_path(),
            Entry::Broken { file, .. } => file.as_path(),
        })
    }

    /// The saved query `name`, or why its file is not one.
    fn get(&self, name: &str) -> Option<std::result::Result<&Arc<SavedQuery>, String>> {
        self.queries.get(name).map(|e| match e {
            Entry::Ready(q) => Ok(q),
            Entry::Broken { message, .. } => Err(message.clone()),
        })
    }

    /// Registers every saved query in `ctx` as a function that is not prepared: DataFusion then knows the
    /// names, and a call that did not go through [`prepare`] says why it fails.
    pub fn register(&self, ctx: &datafusion::prelude::SessionContext) {
        for (name, entry) in &self.queries {
            let file = match entry {
                Entry::Ready(q) => q.path.clone(),
                Entry::Broken { file, .. } => file.clone(),
            };
            ctx.register_udtf(
                name,
                Arc::new(Unprepared {
                    name: name.clone(),
                    file,
                }),
            );
        }
    }
}

/// Makes the saved queries `statement` calls (and those they call) ready in `state`: each planned once, with
/// placeholders, so that DataFusion's call only binds the arguments.
pub async fn prepare(
    state: &mut SessionState,
    statement: &Statement,
    library: &Library,
) -> Result<()> {
    if library.queries.is_empty() {
        return Ok(());
    }
    prepare_within(state, statement, library, &mut Vec::new()).await
}

/// [`prepare`], inside the saved queries of `calling` (to refuse a query that calls itself).
fn prepare_within<'a>(
    state: &'a mut SessionState,
    statement: &'a Statement,
    library: &'a Library,
    calling: &'a mut Vec<String>,
) -> futures::future::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let references = state.resolve_table_references(statement)?;
        for reference in references {
            let TableReference::Bare { table } = &reference else {
                continue;
            };
            let name = table.as_ref();
            let Some(entry) = library.get(name) else {
                continue;
            };
            let file = library.file(name).unwrap_or(Path::new("")).to_path_buf();
            if calling.iter().any(|c| c == name) {
                return Err(Error::SavedQuery {
                    file,
                    message: format!(
                        "saved query {name} calls itself ({} -> {name}); a saved query cannot be recursive",
                        calling.join(" -> ")
                    ),
                });
            }
            let query = entry.map_err(Error::Usage)?;
            let prepared = Prepared::plan(state, query, library, calling).await?;
            state.register_udtf(name, Arc::new(prepared));
        }
        Ok(())
    })
}

/// A saved query planned with placeholders, and its parameters' types: a call binds the arguments.
#[derive(Debug)]
struct Prepared {
    query: Arc<SavedQuery>,
    plan: LogicalPlan,
    types: Vec<DataType>,
}

impl Prepared {
    async fn plan(
        state: &SessionState,
        query: &Arc<SavedQuery>,
        library: &Library,
        calling: &mut Vec<String>,
    ) -> Result<Self> {
        let in_file = |e: Error| e.within(&format!("{}: ", query.path.display()));
        let statements = crate::engine::sql_text::statements(
            state,
            &query.body,
            &crate::engine::sql_text::Limits::LOCAL,
        )
        .map_err(in_file)?;
        let [statement] = statements.as_slice() else {
            return Err(Error::SavedQuery {
                file: query.path.clone(),
                message: format!(
                    "{} statements; a saved query called as a table function is one query",
                    statements.len()
                ),
            });
        };
        let mut inner = state.clone();
        calling.push(query.name.clone());
        let nested = prepare_within(&mut inner, statement, library, calling).await;
        calling.pop();
        nested?;
        let plan = inner
            .statement_to_plan(statement.clone())
            .await
            .map_err(|e| in_file(Error::from(e)))?;
        if !matches!(
            plan,
            LogicalPlan::Projection(_)
                | LogicalPlan::Filter(_)
                | LogicalPlan::Aggregate(_)
                | LogicalPlan::Sort(_)
                | LogicalPlan::Join(_)
                | LogicalPlan::Limit(_)
                | LogicalPlan::Union(_)
                | LogicalPlan::Window(_)
                | LogicalPlan::Distinct(_)
                | LogicalPlan::SubqueryAlias(_)
                | LogicalPlan::TableScan(_)
                | LogicalPlan::Values(_)
                | LogicalPlan::EmptyRelation(_)
                | LogicalPlan::RecursiveQuery(_)
                | LogicalPlan::Unnest(_)
        ) {
            return Err(Error::SavedQuery {
                file: query.path.clone(),
                message:
                    "is not a query (it creates, changes or writes something); only a query can be \
                          called as a table function"
                        .to_string(),
            });
        }
        let mut types = Vec::with_capacity(query.params.len());
        for param in &query.params {
            let data_type =
                sql_type(state, &param.sql_type)
                    .await
                    .map_err(|m| Error::SavedQuery {
                        file: query.path.clone(),
                        message: format!("parameter {}: {m}", param.name),
                    })?;
            types.push(data_type);
        }
        Ok(Self {
            query: Arc::clone(query),
            plan,
            types,
        })
    }
}

impl TableFunctionImpl for Prepared {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let query = &self.query;
        let exprs = args.exprs();
        if exprs.len() > query.params.len() {
            return plan_err!(
                "{}: {}() takes at most {} argument{} ({}), {} given",
                query.path.display(),
                query.name,
                query.params.len(),
                if query.params.len() == 1 { "" } else { "s" },
                query.declared(),
                exprs.len()
            );
        }
        let session = args.session();
        let simplify = SimplifyContext::builder()
            .with_config_options(Arc::new(session.config_options().clone()))
            .with_query_execution_start_time(Some(
                session
                    .execution_props()
                    .query_execution_start_time
                    .unwrap_or_else(chrono::Utc::now),
            ))
            .build();
        let simplifier = ExprSimplifier::new(simplify);
        let mut given = Params::new();
        // Arguments that are placeholders of the calling statement (`$since` in a saved query calling
        // another, `$1` in a prepared statement): bound when the caller binds its own.
        let mut passed: HashMap<String, Expr> = HashMap::new();
        for ((expr, param), data_type) in exprs.iter().zip(&query.params).zip(&self.types) {
            let value = match simplifier.simplify(expr.clone())? {
                Expr::Literal(value, _) => value,
                placeholder @ Expr::Placeholder(_) => {
                    passed.insert(
                        param.name.clone(),
                        Expr::Cast(Cast::new(Box::new(placeholder), data_type.clone())),
                    );
                    continue;
                }
                other => {
                    return plan_err!(
                        "{}: argument {} of {}() must be a constant or a parameter ($name), not {other}",
                        query.path.display(),
                        param.name,
                        query.name
                    );
                }
            };
            let value = match value {
                ScalarValue::Utf8(Some(text))
                | ScalarValue::LargeUtf8(Some(text))
                | ScalarValue::Utf8View(Some(text)) => ParamValue::Text(text),
                value => ParamValue::Value(value),
            };
            given.insert(param.name.clone(), value);
        }
        let later: Vec<&str> = passed.keys().map(String::as_str).collect();
        let values = query
            .bind_typed(&self.types, &given, &later)
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        let mut values: HashMap<String, Expr> = values
            .into_iter()
            .map(|(name, value)| (name, Expr::Literal(value, None)))
            .collect();
        values.extend(passed);
        let plan = bind(self.plan.clone(), &values)?;
        Ok(Arc::new(ViewTable::new(plan, Some(query.body.clone()))))
    }
}

/// `plan` with each placeholder `$name` replaced by `values[name]` (a value, or a placeholder of the calling
/// statement), as DataFusion's `replace_params_with_values` does with values only.
fn bind(
    plan: LogicalPlan,
    values: &HashMap<String, Expr>,
) -> datafusion::common::Result<LogicalPlan> {
    plan.transform_up_with_subqueries(|plan| {
        let schema = Arc::clone(plan.schema());
        let names = NamePreserver::new(&plan);
        plan.map_expressions(|e| {
            let (e, has_placeholder) = e.infer_placeholder_types(&schema)?;
            if !has_placeholder {
                return Ok(Transformed::no(e));
            }
            let name = names.save(&e);
            let bound = e.transform_up(|e| match e {
                Expr::Placeholder(Placeholder { id, .. }) => {
                    let key = id.strip_prefix('$').unwrap_or(&id);
                    match values.get(key) {
                        Some(value) => Ok(Transformed::yes(value.clone())),
                        None => plan_err!("no value for parameter {id}"),
                    }
                }
                other => Ok(Transformed::no(other)),
            })?;
            Ok(bound.update_data(|e| name.restore(e)))
        })?
        .map_data(|plan| plan.recompute_schema())
    })
    .map(|bound| bound.data)
}

/// A saved query registered but not prepared: the call did not come through cxsql's execution path.
#[derive(Debug)]
struct Unprepared {
    name: String,
    file: PathBuf,
}

impl TableFunctionImpl for Unprepared {
    fn call_with_args(
        &self,
        _args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        plan_err!(
            "saved query {}() ({}) can be called only in SQL that cxsql runs (Session::execute, the command \
             line, the shell, reports, the server), not through the DataFusion context directly",
            self.name,
            self.file.display()
        )
    }
}
