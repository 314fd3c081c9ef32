//! `cxsql scheduler`: a Ballista scheduler whose sessions know cxsql's functions, calendars and the
//! catalog's tables and views, so that plans from `--cluster` clients decode and plan as they would locally.
//! It runs until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ballista_core::utils::default_session_builder;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

use crate::engine::cluster::{Functions, LogicalCodec, PhysicalCodec};
use crate::engine::session::Session;
use crate::error::{Error, Result};

/// How the scheduler listens and watches its executors.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Where clients and executors reach it (port 0: any free port, printed on start).
    pub bind: SocketAddr,
    /// An executor silent for this long is lost: its tasks run again on the others.
    pub executor_timeout: Duration,
}

/// Runs the scheduler over `session`'s functions, calendars, tables and views until a stop signal.
pub async fn run(session: Session, options: SchedulerOptions) -> Result<()> {
    let state = session.context().state();
    let functions = Functions::of(&state);
    let catalogs = Arc::clone(state.catalog_list());
    let runtime = Arc::clone(state.runtime_env());
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|e| {
            Error::Usage(format!(
                "scheduler --bind {}: cannot listen: {e}",
                options.bind
            ))
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("the scheduler's address: {e}")))?;
    let timeout = options.executor_timeout.as_secs().max(1);
    let config = SchedulerConfig {
        bind_host: address.ip().to_string(),
        bind_port: address.port(),
        external_host: address.ip().to_string(),
        executor_timeout_seconds: timeout,
        expire_dead_executor_interval_seconds: (timeout / 3).clamp(1, 15),
        no_executors_grace_period_seconds: timeout,
        override_session_builder: Some(Arc::new(move |config: SessionConfig| {
            let state = default_session_builder(config)?;
            let builder = SessionStateBuilder::new_from_existing(state)
                .with_catalog_list(Arc::clone(&catalogs))
                .with_runtime_env(Arc::clone(&runtime));
            Ok(functions.add_to(builder).build())
        })),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..SchedulerConfig::default()
    };
    let failed = |e: ballista_core::error::BallistaError| {
        Error::Internal(format!("the scheduler stopped: {e}"))
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(failed)?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
            .await
            .map_err(failed)?;
    eprintln!(
        "cxsql scheduler: listening on df://{address}; start executors with `cxsql executor --scheduler \
         {address}`, run queries with `cxsql --cluster df://{address} ...`"
    );
    // The session's tables resolve through its state: it lives as long as the scheduler.
    let _session = session;
    tokio::select! {
        served = start_grpc_service_with_listener(listener, scheduler) => served.map_err(failed),
        _ = crate::guard::stop_requested() => Ok(()),
    }
}
