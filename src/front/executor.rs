//! `cxsql executor`: a Ballista executor whose function registry holds cxsql's functions and whose object
//! stores are those of the session (`s3://` locations of `--table` and the catalog), registered with a
//! scheduler. It runs until SIGINT or SIGTERM, or until the scheduler stops it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;

use crate::engine::cluster::{ClusterUrl, LogicalCodec, PhysicalCodec};
use crate::engine::session::Session;
use crate::error::{Error, Result};

/// Where the executor listens and how much it takes on.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler to register with.
    pub scheduler: ClusterUrl,
    /// Where other processes reach it: shuffle data on PORT, tasks on PORT + 1 (port 0: two free ports).
    pub bind: SocketAddr,
    /// Tasks run at once (default: the number of cores).
    pub concurrency: Option<usize>,
    /// Where shuffle files go (default: a temporary folder removed on exit).
    pub work_dir: Option<PathBuf>,
    /// Memory shared by the tasks, in bytes; they spill beyond it.
    pub memory_limit: Option<usize>,
    /// Seconds between heartbeats to the scheduler.
    pub heartbeat_seconds: u64,
    /// DataFusion's functions only (tests: what an executor without cxsql's registry does).
    pub without_cxsql_functions: bool,
}

/// Runs the executor with `session`'s functions and object stores until a stop signal.
pub async fn run(session: Session, options: ExecutorOptions) -> Result<()> {
    crate::engine::cluster::reachable(&options.scheduler)?;
    let state = session.context().state();
    let registry = if options.without_cxsql_functions {
        BallistaFunctionRegistry::default()
    } else {
        // Keyed by every name and alias the session knows its functions by.
        BallistaFunctionRegistry::from(&state)
    };
    let stores = Arc::clone(&state.runtime_env().object_store_registry);
    let (flight, tasks) = ports(options.bind)?;
    let temporary = match &options.work_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("cxsql-executor-")
                .tempdir()
                .map_err(|e| Error::io(std::env::temp_dir(), e))?,
        ),
    };
    let work_dir = match (&options.work_dir, &temporary) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            dir.clone()
        }
        (None, Some(dir)) => dir.path().to_path_buf(),
        (None, None) => return Err(Error::Internal("no work folder".into())),
    };
    let spill = work_dir.clone();
    let host = options.bind.ip().to_string();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let config = ExecutorProcessConfig {
        bind_host: host.clone(),
        external_host: Some(host),
        port: flight,
        grpc_port: tasks,
        scheduler_host: options.scheduler.host.clone(),
        scheduler_port: options.scheduler.port,
        vcores: options.concurrency.unwrap_or(cores).max(1),
        work_dir: Some(work_dir.display().to_string()),
        executor_heartbeat_interval_seconds: options.heartbeat_seconds.max(1),
        memory_pool_size: options.memory_limit.map(|b| b as u64),
        override_function_registry: Some(Arc::new(registry)),
        override_runtime_producer: Some(Arc::new(move |_: &SessionConfig| {
            RuntimeEnvBuilder::new()
                .with_temp_file_path(spill.clone())
                .with_object_store_registry(Arc::clone(&stores))
                .build_arc()
        })),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..ExecutorProcessConfig::default()
    };
    eprintln!(
        "cxsql executor: shuffle data on {}:{flight}, tasks on {}:{tasks}, {} task slots, work folder {}; \
         registering with {}",
        options.bind.ip(),
        options.bind.ip(),
        config.vcores,
        work_dir.display(),
        options.scheduler
    );
    let _session = session;
    tokio::select! {
        ran = start_executor_process(Arc::new(config)) => ran.map_err(|e| {
            Error::Usage(format!("executor: {e} (scheduler {})", options.scheduler))
        }),
        _ = crate::guard::stop_requested() => Ok(()),
    }
}

/// The executor's two ports: PORT and PORT + 1, or two free ones for port 0.
fn ports(bind: SocketAddr) -> Result<(u16, u16)> {
    if bind.port() != 0 {
        let next = bind.port().checked_add(1).ok_or_else(|| {
            Error::Usage(format!(
                "executor --bind {bind}: tasks use PORT + 1; choose a port below 65535"
            ))
        })?;
        return Ok((bind.port(), next));
    }
    // Held together so that the two differ; released just before the executor binds them.
    let free = || {
        std::net::TcpListener::bind(SocketAddr::new(bind.ip(), 0))
            .map_err(|e| Error::Usage(format!("executor --bind {bind}: cannot listen: {e}")))
    };
    let (a, b) = (free()?, free()?);
    let port = |l: &std::net::TcpListener| {
        l.local_addr()
            .map(|a| a.port())
            .map_err(|e| Error::Internal(format!("a free port: {e}")))
    };
    Ok((port(&a)?, port(&b)?))
}
