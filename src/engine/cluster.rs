//! Running cxsql's plans on an Apache Ballista cluster: what the three kinds of process (client, scheduler,
//! executor) need beyond Ballista's defaults so that a cluster gives the numbers a local run gives.
//!
//! - **Functions.** Every process knows cxsql's functions by name: the client and the scheduler through their
//!   session states, executors through their function registry ([`session_functions`]). Plans name a function
//!   and the receiving process looks it up, which is exact for every function whose behaviour is fixed by its
//!   name and arguments (the KPI aggregates, `date_trunc`). `business_seconds` and `sla_breached` also read the
//!   session's calendars (`[calendars.*]` of the catalog): the [`LogicalCodec`] and [`PhysicalCodec`] write
//!   the calendars into the plan next to the function's name, so an executor started without the catalog
//!   counts the same business hours as the client.
//! - **Tables.** A plan carries its tables (paths, format, schema) and executors read the files themselves:
//!   Parquet and JSON as DataFusion describes them; a CSV table as Arrow's CSV reader with the dialect, header
//!   and types cxsql's sniffing decided ([`portable`]). Local paths must mean the same files on every machine.
//! - **Connecting.** [`connect`] turns a session's state into one whose plans run on the cluster, keeping
//!   cxsql's functions (Ballista's upgrade replaces the function lists with its own defaults).

use std::collections::HashMap;
use std::fmt;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ballista_core::config::BALLISTA_CLIENT_GRPC_CONNECT_TIMEOUT_SECONDS;
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::planner::BallistaQueryPlanner;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{Session as CatalogSession, TableProvider};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DataFusionError, Result as DfResult, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig};
use datafusion::datasource::{DefaultTableSource, provider_as_source};
use datafusion::execution::TaskContext;
use datafusion::execution::context::{QueryPlanner, SessionState};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{
    AggregateUDF, Extension, LogicalPlan, ScalarUDF, TableScan, WindowUDF,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use datafusion_proto::protobuf::LogicalPlanNode;

use crate::error::{Error, Result};
use cxsql_csv::CsvFiles;
use cxsql_udfs::calendar::Calendars;
use cxsql_udfs::{BusinessSeconds, SlaBreached};

/// How a cluster's scheduler is named on the command line: `df://HOST:PORT`, as Ballista's clients write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterUrl {
    pub host: String,
    pub port: u16,
}

impl std::str::FromStr for ClusterUrl {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let expected = "expected df://HOST:PORT, e.g. df://127.0.0.1:50050";
        let rest = text
            .trim()
            .strip_prefix("df://")
            .ok_or_else(|| format!("{text:?} is not a cluster address; {expected}"))?;
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?} has no port; {expected}"))?;
        let port: u16 = port
            .trim_end_matches('/')
            .parse()
            .map_err(|_| format!("{text:?}: {port:?} is not a port number; {expected}"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err(format!("{text:?} names no scheduler; {expected}"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

impl ClusterUrl {
    /// The scheduler's gRPC endpoint, as Ballista's client connects to it.
    fn endpoint(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for ClusterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "df://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "df://{}:{}", self.host, self.port)
        }
    }
}

/// How long a client waits for the scheduler to answer a connection before saying it cannot be reached.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `state`, with its plans run on the cluster at `url`: the scheduler must answer within [`CONNECT_TIMEOUT`].
/// The functions `state` has (cxsql's included) stay; cxsql's codecs carry calendars and CSV tables.
pub fn connect(state: SessionState, url: &ClusterUrl) -> Result<SessionState> {
    reachable(url)?;
    let functions = Functions::of(&state);
    // Ballista's settings exist once the config is upgraded (setting one before panics).
    let config = SessionConfigExt::upgrade_for_ballista(state.config().clone())
        .with_ballista_logical_extension_codec(Arc::new(LogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(PhysicalCodec::default()))
        .set_u64(
            BALLISTA_CLIENT_GRPC_CONNECT_TIMEOUT_SECONDS,
            CONNECT_TIMEOUT.as_secs(),
        );
    let state = SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .build();
    let scheduler = url.endpoint();
    let upgraded = state
        .upgrade_for_ballista(scheduler.clone())
        .map_err(Error::from)?;
    // Ballista's planner, behind one that first makes CSV tables portable.
    let ballista = BallistaQueryPlanner::<LogicalPlanNode>::with_extension(
        scheduler,
        upgraded.config().ballista_config(),
        Arc::new(LogicalCodec::default()),
    );
    let planner = Arc::new(ClusterPlanner { ballista });
    Ok(functions
        .add_to(SessionStateBuilder::new_from_existing(upgraded))
        .with_query_planner(planner)
        .build())
}

/// Whether something listens at the scheduler's address: a clear error now instead of gRPC's retries later.
pub fn reachable(url: &ClusterUrl) -> Result<()> {
    let unreachable = |why: String| {
        Error::Usage(format!(
            "cannot reach the cluster's scheduler at {url}: {why} (is `cxsql scheduler` running there?)"
        ))
    };
    let addresses: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| unreachable(format!("cannot resolve {}: {e}", url.host)))?
        .collect();
    let mut last = String::from("no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(unreachable(last))
}

/// The functions of a session state, to be put back after Ballista's upgrade or into another process's state.
#[derive(Clone)]
pub struct Functions {
    scalar: Vec<Arc<ScalarUDF>>,
    aggregate: Vec<Arc<AggregateUDF>>,
    window: Vec<Arc<WindowUDF>>,
}

impl Functions {
    /// The functions `state` knows: DataFusion's and cxsql's (cxsql's `date_trunc` in place of DataFusion's).
    pub fn of(state: &SessionState) -> Self {
        Self {
            scalar: state.scalar_functions().values().cloned().collect(),
            aggregate: state.aggregate_functions().values().cloned().collect(),
            window: state.window_functions().values().cloned().collect(),
        }
    }

    /// `builder` with these functions added to (and replacing those of the same name in) its own.
    pub fn add_to(&self, builder: SessionStateBuilder) -> SessionStateBuilder {
        let state = builder.build();
        let scalar = merged(state.scalar_functions(), &self.scalar);
        let aggregate = merged(state.aggregate_functions(), &self.aggregate);
        let window = merged(state.window_functions(), &self.window);
        SessionStateBuilder::new_from_existing(state)
            .with_scalar_functions(scalar)
            .with_aggregate_functions(aggregate)
            .with_window_functions(window)
    }
}

/// A state's functions, then `ours`: registered in this order, ours replace theirs of the same name.
fn merged<F>(theirs: &HashMap<String, Arc<F>>, ours: &[Arc<F>]) -> Vec<Arc<F>> {
    theirs
        .values()
        .cloned()
        .chain(ours.iter().cloned())
        .collect()
}

/// Ballista's client planner, given plans whose tables every executor can read.
#[derive(Debug)]
struct ClusterPlanner {
    ballista: BallistaQueryPlanner<LogicalPlanNode>,
}

#[async_trait]
impl QueryPlanner for ClusterPlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn CatalogSession,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let plan = portable(plan.clone())?;
        self.ballista.create_physical_plan(&plan, session).await
    }
}

/// `plan` with each CSV table cxsql reads by its own reader replaced by the same files read by DataFusion's
/// CSV format, which every process can rebuild from the plan: the dialect, header, compression and column
/// types cxsql decided, quoted line breaks allowed. A table that needs more than that reader can do
/// (columns converted from text, an encoding other than UTF-8) is an error naming it and what to do.
pub fn portable(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::TableScan(scan) = &node else {
            return Ok(Transformed::no(node));
        };
        let Some(listing) = listing_table(scan) else {
            return Ok(Transformed::no(node));
        };
        let Some(csv) = listing.options().format.downcast_ref::<CsvFiles>() else {
            return Ok(Transformed::no(node));
        };
        let format = csv.portable().map_err(|why| {
            DataFusionError::Plan(format!(
                "table {} cannot be read on a cluster: {why}",
                scan.table_name
            ))
        })?;
        let mut options = listing.options().clone();
        options.format = Arc::new(format);
        let partitions: Vec<&String> = options
            .table_partition_cols
            .iter()
            .map(|(n, _)| n)
            .collect();
        let table_schema = listing.schema();
        let file_schema: SchemaRef = Arc::new(Schema::new(
            table_schema
                .fields()
                .iter()
                .filter(|f| !partitions.contains(&f.name()))
                .cloned()
                .collect::<Vec<_>>(),
        ));
        let config = ListingTableConfig::new_with_multi_paths(listing.table_paths().clone())
            .with_listing_options(options)
            .with_schema(file_schema);
        let table: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config)?);
        let mut scan = scan.clone();
        scan.source = provider_as_source(table);
        Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
    })
    .map(|t| t.data)
}

/// What Ballista's scheduler says when an executor refused a task, without the executor's reason.
const REJECTED: &str = "could not be prepared or was rejected by executor";

/// `e`, with the likely reason added when an executor refused the tasks of `plan`: an executor that is not
/// `cxsql executor` lacks cxsql's functions, and Ballista's message does not say which were missing.
pub fn explain_rejection(plan: &LogicalPlan, e: DataFusionError) -> DataFusionError {
    if !e.to_string().contains(REJECTED) {
        return e;
    }
    let used = cxsql_functions(plan);
    let functions = if used.is_empty() {
        String::new()
    } else {
        format!(", among them {}", used.join(", "))
    };
    let message = match &e {
        DataFusionError::Execution(message) => message.clone(),
        other => other.strip_backtrace(),
    };
    DataFusionError::Execution(format!(
        "{message}: an executor could not prepare the query's tasks. Executors must be `cxsql executor` \
         processes of this version: others lack the functions this query uses{functions}"
    ))
}

/// The names of cxsql's own functions (KPIs, `date_trunc` in UTC) that `plan` calls, sorted.
pub fn cxsql_functions(plan: &LogicalPlan) -> Vec<String> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::Expr;

    let ours: Vec<String> = cxsql_udfs::all_functions()
        .iter()
        .map(|f| f.name().to_string())
        .chain(["date_trunc".to_string()])
        .collect();
    let mut used = std::collections::BTreeSet::new();
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                let name = match e {
                    Expr::ScalarFunction(f) => Some(f.name()),
                    Expr::AggregateFunction(f) => Some(f.func.name()),
                    Expr::WindowFunction(f) => Some(f.fun.name()),
                    _ => None,
                };
                if let Some(name) = name.filter(|n| ours.iter().any(|o| o == n)) {
                    used.insert(name.to_string());
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    used.into_iter().collect()
}

/// The listing table a scan reads, if it reads one.
fn listing_table(scan: &TableScan) -> Option<&ListingTable> {
    scan.source
        .downcast_ref::<DefaultTableSource>()?
        .table_provider
        .downcast_ref::<ListingTable>()
}

/// What precedes the calendars in a function's definition, so that a plan from another program or version is
/// refused instead of misread.
const CALENDARS_V1: &[u8] = b"cxsql-calendars-v1\n";

/// The functions whose behaviour depends on more than their name: they read the session's calendars.
#[derive(Debug, Default)]
struct CalendarFunctions {
    /// Calendars already decoded, by their encoding: every task of a query carries the same bytes, and a
    /// calendar builds its day table once.
    decoded: Mutex<HashMap<Vec<u8>, Arc<Calendars>>>,
}

impl CalendarFunctions {
    /// The calendars `node` reads, written into `buf`, if it is one of the calendar functions.
    fn encode(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<bool> {
        let inner: &dyn std::any::Any = node.inner().as_ref();
        let calendars = if let Some(f) = inner.downcast_ref::<BusinessSeconds>() {
            f.calendars()
        } else if let Some(f) = inner.downcast_ref::<SlaBreached>() {
            f.calendars()
        } else {
            return Ok(false);
        };
        buf.extend_from_slice(CALENDARS_V1);
        let specs = serde_json::to_vec(&calendars.specs())
            .map_err(|e| DataFusionError::Internal(format!("{}: calendars: {e}", node.name())))?;
        buf.extend_from_slice(&specs);
        Ok(true)
    }

    /// The function `name` reading the calendars `buf` holds, if `buf` holds calendars.
    fn decode(&self, name: &str, buf: &[u8]) -> DfResult<Option<Arc<ScalarUDF>>> {
        let Some(specs) = buf.strip_prefix(CALENDARS_V1) else {
            return Ok(None);
        };
        let calendars = {
            let mut decoded = self.decoded.lock().unwrap_or_else(|e| e.into_inner());
            match decoded.get(buf) {
                Some(c) => Arc::clone(c),
                None => {
                    let specs: Vec<(String, String)> =
                        serde_json::from_slice(specs).map_err(|e| {
                            DataFusionError::Plan(format!("{name}: the plan's calendars: {e}"))
                        })?;
                    let calendars = Arc::new(Calendars::from_specs(&specs)?);
                    decoded.insert(buf.to_vec(), Arc::clone(&calendars));
                    calendars
                }
            }
        };
        let udf = match name {
            "business_seconds" => ScalarUDF::new_from_impl(BusinessSeconds::new(calendars)),
            "sla_breached" => ScalarUDF::new_from_impl(SlaBreached::new(calendars)),
            other => {
                return Err(DataFusionError::Plan(format!(
                    "the plan gives calendars to {other}, which reads none"
                )));
            }
        };
        Ok(Some(Arc::new(udf)))
    }
}

/// The function part of both codecs, the same in the logical and the physical one: scalar functions go
/// through the calendars first (`business_seconds`, `sla_breached` carry theirs), everything else to Ballista's
/// codec.
macro_rules! function_codec_methods {
    () => {
        fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
            match self.calendars.decode(name, buf)? {
                Some(udf) => Ok(udf),
                None => self.ballista.try_decode_udf(name, buf),
            }
        }

        fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
            if self.calendars.encode(node, buf)? {
                return Ok(());
            }
            self.ballista.try_encode_udf(node, buf)
        }

        fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
            self.ballista.try_decode_udaf(name, buf)
        }

        fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
            self.ballista.try_encode_udaf(node, buf)
        }

        fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
            self.ballista.try_decode_udwf(name, buf)
        }

        fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
            self.ballista.try_encode_udwf(node, buf)
        }
    };
}

/// Ballista's logical codec, plus the calendars of `business_seconds` and `sla_breached`.
#[derive(Debug, Default)]
pub struct LogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
    calendars: CalendarFunctions,
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> DfResult<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        self.ballista
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        self.ballista
            .try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> DfResult<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    function_codec_methods!();
}

/// Ballista's physical codec (shuffles), plus the calendars of `business_seconds` and `sla_breached`.
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
    calendars: CalendarFunctions,
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.ballista.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        self.ballista.try_encode(node, buf, proto_converter)
    }

    function_codec_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_parse_and_print() {
        let url: ClusterUrl = "df://127.0.0.1:50050"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((url.host.as_str(), url.port), ("127.0.0.1", 50050));
        assert_eq!(url.to_string(), "df://127.0.0.1:50050");
        let v6: ClusterUrl = "df://[::1]:7".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (v6.host.as_str(), v6.to_string()),
            ("::1", "df://[::1]:7".into())
        );
        for bad in [
            "127.0.0.1:50050",
            "df://host",
            "df://host:x",
            "df://:5",
            "df://h:0",
        ] {
            let e = bad.parse::<ClusterUrl>().err().unwrap_or_default();
            assert!(e.contains("df://HOST:PORT"), "{bad}: {e}");
        }
    }

    #[test]
    fn an_unreachable_scheduler_is_a_clear_error() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(1);
        let url = ClusterUrl {
            host: "127.0.0.1".into(),
            port,
        };
        let message = reachable(&url)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains(&format!(
                "cannot reach the cluster's scheduler at df://127.0.0.1:{port}"
            )),
            "{message}"
        );
    }

    #[test]
    fn calendars_travel_with_the_function() -> DfResult<()> {
        let calendars = Arc::new(Calendars::new());
        calendars.register(
            "emea",
            cxsql_udfs::Calendar::parse("time_zone=Europe/Berlin; holidays=2024-10-03")?,
        );
        let functions = CalendarFunctions::default();
        for udf in [
            ScalarUDF::new_from_impl(BusinessSeconds::new(Arc::clone(&calendars))),
            ScalarUDF::new_from_impl(SlaBreached::new(Arc::clone(&calendars))),
        ] {
            let mut buf = Vec::new();
            assert!(functions.encode(&udf, &mut buf)?);
            let back = functions
                .decode(udf.name(), &buf)?
                .ok_or_else(|| DataFusionError::Internal("not decoded".into()))?;
            let inner: &dyn std::any::Any = back.inner().as_ref();
            let travelled = inner
                .downcast_ref::<BusinessSeconds>()
                .map(|f| f.calendars().specs())
                .or_else(|| {
                    inner
                        .downcast_ref::<SlaBreached>()
                        .map(|f| f.calendars().specs())
                });
            assert_eq!(travelled, Some(calendars.specs()));
        }
        // Other functions travel by name alone.
        let mut buf = Vec::new();
        let abs = datafusion::functions::math::abs();
        assert!(!functions.encode(&abs, &mut buf)?);
        assert!(buf.is_empty());
        assert!(functions.decode("abs", b"")?.is_none());
        Ok(())
    }
}
