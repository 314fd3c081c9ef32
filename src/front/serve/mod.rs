//! `cxsql serve`: one long-lived session answering Arrow Flight SQL clients (ADBC drivers, BI tools,
//! notebooks). A front end over the engine API like the shell: statements and prepared statements run
//! through [`Session::execute`] (so saved queries are table functions here too, and every statement is
//! checked as on the command line), results stream batch by batch as Flight data.
//!
//! - Every call must carry `authorization: Bearer <token>` when a token is set (compared in constant time);
//!   without a token the server listens on loopback addresses only.
//! - The session refuses statements that create, change or write anything unless `--allow-writes`.
//! - At most `max_concurrent` queries run at once; the others wait their turn. A query past the timeout is
//!   stopped. A client that goes away stops its query (its stream is dropped, and with it the plan and its
//!   memory).
//! - One log line per query on standard error: client, statement hash, rows, duration, outcome.
//! - A stop signal stops accepting calls; running queries get the grace period to finish.
//! - File listings and Parquet footers stay cached between queries; `REFRESH` (or `--refresh EVERY`) makes
//!   the next query of each table list its files again.

mod options;
mod runtime;
mod service;
mod types;

pub use options::{LogFormat, ServeOptions, default_memory_limit};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_flight::flight_service_server::FlightServiceServer;
use subtle::ConstantTimeEq;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Status};

use crate::engine::session::Session;
use crate::error::{Error, Result};
use crate::front::serve::runtime::QueryRuntime;
use crate::front::serve::service::FlightSql;

/// Serves `session` until a stop signal: prints the address it listens on, then answers Flight SQL calls.
/// Statements are planned and run on `queries`, a runtime of their own (the binary builds it as it builds
/// its main one); the calling runtime accepts connections and answers calls.
pub async fn serve(
    session: Session,
    options: ServeOptions,
    queries: tokio::runtime::Runtime,
) -> Result<()> {
    // Held at once: a runtime dropped on an error path inside this one would panic.
    let queries = QueryRuntime(Some(queries));
    if options.token.is_none() && !options.listen.ip().is_loopback() {
        return Err(Error::Usage(format!(
            "serve --listen {}: without a token the server listens on loopback addresses only (127.0.0.1, \
             ::1); set CXSQL_TOKEN or --token-file to listen on other addresses",
            options.listen
        )));
    }
    let mut builder = Server::builder();
    if let Some((cert, key)) = &options.tls {
        let read = |path: &PathBuf| std::fs::read(path).map_err(|e| Error::io(path, e));
        let identity = Identity::from_pem(read(cert)?, read(key)?);
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(identity))
            .map_err(|e| {
                Error::Usage(format!(
                    "serve --tls-cert {} --tls-key {}: {e}",
                    cert.display(),
                    key.display()
                ))
            })?;
    }
    // Without TCP_NODELAY each small answer waits for the client's delayed acknowledgement: measured, 90 ms
    // for `SELECT 1` through ADBC, against a few ms with it.
    let incoming = TcpIncoming::bind(options.listen)
        .map_err(|e| {
            Error::Usage(format!(
                "serve --listen {}: cannot listen: {e}",
                options.listen
            ))
        })?
        .with_nodelay(Some(true));
    let address = incoming
        .local_addr()
        .map_err(|e| Error::Internal(format!("the listening address: {e}")))?;
    let read_only = session.refuses_changes();
    let service = FlightSql::new(session, &options, queries)?;
    if let Some(every) = options.refresh {
        let session = Arc::clone(&service.session);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                session.refresh();
            }
        });
    }
    let running = Arc::clone(&service.running);
    let token = options.token.clone().map(String::into_bytes);
    let server = FlightServiceServer::with_interceptor(service, move |request: Request<()>| {
        authorize(token.as_deref(), &request)?;
        Ok(request)
    });
    eprintln!(
        "cxsql serve: Flight SQL on {}://{address} ({}; {}; at most {} queries at once)",
        if options.tls.is_some() {
            "grpc+tls"
        } else {
            "grpc"
        },
        if options.token.is_some() {
            "a bearer token is required"
        } else {
            "no token: loopback only"
        },
        if read_only {
            "read-only"
        } else {
            "writes allowed"
        },
        options.max_concurrent
    );
    let grace = options.grace;
    let stop = async move {
        let signal = crate::guard::stop_requested().await;
        eprintln!(
            "cxsql serve: {} received: no new calls; waiting up to {}s for running queries",
            crate::guard::signal_name(signal),
            grace.as_secs()
        );
    };
    let serving = builder
        .add_service(server)
        .serve_with_incoming_shutdown(incoming, stop);
    tokio::pin!(serving);
    tokio::select! {
        served = &mut serving => served.map_err(|e| Error::Internal(format!("the server stopped: {e}")))?,
        () = async {
            crate::guard::stop_requested().await;
            tokio::time::sleep(grace).await;
        } => {
            eprintln!(
                "cxsql serve: {} queries still running after {}s: stopped",
                running.load(Ordering::SeqCst),
                grace.as_secs()
            );
        }
    }
    eprintln!("cxsql serve: stopped");
    Ok(())
}

/// Refuses a call without the right `authorization: Bearer <token>` (when a token is set).
fn authorize(token: Option<&[u8]>, request: &Request<()>) -> std::result::Result<(), Status> {
    let Some(token) = token else {
        return Ok(());
    };
    let given = request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::as_bytes);
    match given {
        Some(given) if bool::from(given.ct_eq(token)) => Ok(()),
        Some(_) => Err(Status::unauthenticated("wrong bearer token")),
        None => Err(Status::unauthenticated(
            "this server requires `authorization: Bearer <token>`",
        )),
    }
}
