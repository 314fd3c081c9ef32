//! The Flight SQL service: statements, prepared statements and metadata calls, each query run on the
//! query runtime within its slot, its timeout and its memory share, and logged.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfoData};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandGetXdbcTypeInfo,
    CommandPreparedStatementQuery, CommandStatementQuery, CommandStatementUpdate,
    DoPutPreparedStatementResult, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    Ticket,
};
use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tonic::{Request, Response, Status, Streaming};

use crate::engine::params::{ParamValue, Params};
use crate::engine::session::Session;
use crate::error::{Error, Result};
use crate::front::serve::options::{LogFormat, ServeOptions};
use crate::front::serve::runtime::{AbortOnDrop, QueryRuntime, within};
use crate::front::serve::types::{parameter_value, schema_bytes, with_type_names, xdbc_type_info};
use crate::writer::{ResultSink, plain_type};

/// A statement prepared by a client: its SQL, result schema, parameters and the values bound last.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    sql: String,
    schema: SchemaRef,
    parameters: Vec<(String, Option<DataType>)>,
    values: Params,
}

pub(super) struct FlightSql {
    pub(super) session: Arc<Session>,
    /// Where statements are planned and run: not on the runtime that accepts connections and answers
    /// calls, so that a statement that plans for long (planning is synchronous in DataFusion) or keeps
    /// every core busy cannot stop the server from answering the others.
    queries: QueryRuntime,
    view_types: bool,
    slots: Arc<Semaphore>,
    timeout: Option<Duration>,
    log: LogFormat,
    prepared: Mutex<HashMap<Vec<u8>, Prepared>>,
    handles: AtomicU64,
    /// Queries running now.
    pub(super) running: Arc<AtomicU64>,
    info: SqlInfoData,
    /// What `GetXdbcTypeInfo` answers.
    types: XdbcTypeInfoData,
}

impl FlightSql {
    pub(super) fn new(
        session: Session,
        options: &ServeOptions,
        queries: QueryRuntime,
    ) -> Result<Self> {
        let mut info = SqlInfoDataBuilder::new();
        info.append(SqlInfo::FlightSqlServerName, "cxsql");
        info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        info.append(SqlInfo::FlightSqlServerArrowVersion, "59");
        info.append(SqlInfo::FlightSqlServerReadOnly, session.refuses_changes());
        info.append(SqlInfo::FlightSqlServerSql, true);
        info.append(SqlInfo::FlightSqlServerSubstrait, false);
        info.append(SqlInfo::FlightSqlServerTransaction, 0i32);
        info.append(SqlInfo::FlightSqlServerCancel, false);
        info.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
        let info = info
            .build()
            .map_err(|e| Error::Internal(format!("the server's SQL info: {e}")))?;
        Ok(Self {
            session: Arc::new(session),
            queries,
            view_types: options.view_types,
            slots: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
            timeout: options.query_timeout,
            log: options.log,
            prepared: Mutex::new(HashMap::new()),
            handles: AtomicU64::new(1),
            running: Arc::new(AtomicU64::new(0)),
            info,
            types: xdbc_type_info()?,
        })
    }

    fn prepared(&self, handle: &[u8]) -> std::result::Result<Prepared, Status> {
        self.prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(handle)
            .cloned()
            .ok_or_else(|| {
                Status::not_found("no such prepared statement (closed, or from another server)")
            })
    }

    /// Runs `sql` with `values` and streams its result: queued behind the running queries, stopped at the
    /// timeout (planning included) or when the client goes away.
    async fn run(
        &self,
        sql: String,
        values: Params,
        client: String,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| Status::unavailable("the server is stopping"))?;
        let (batches, received) = mpsc::channel::<std::result::Result<RecordBatch, FlightError>>(2);
        let (schema_sent, schema) = oneshot::channel::<std::result::Result<SchemaRef, Status>>();
        // Dropped with this call or with the result's stream: the client went away, the query stops.
        let (watch, gone) = oneshot::channel::<()>();
        let session = Arc::clone(&self.session);
        let timeout = self.timeout;
        let log = self.log;
        let running = Arc::clone(&self.running);
        let view_types = self.view_types;
        self.queries.spawn(async move {
            let _slot = slot;
            running.fetch_add(1, Ordering::SeqCst);
            let started = Instant::now();
            let mut sink = Forward {
                schema: Some(schema_sent),
                batches: batches.clone(),
                gone: false,
                plain: !view_types,
            };
            let work = within(timeout, session.execute(&sql, &values, &mut sink));
            let (outcome, left) = tokio::select! {
                outcome = work => (outcome, false),
                _ = gone => (Err(Status::cancelled("the client went away")), true),
            };
            let what = match (&outcome, left || sink.gone) {
                (_, true) => "cancelled (the client went away)".to_string(),
                (Ok(_), false) => "ok".to_string(),
                (Err(status), false) => format!("failed: {}", status.message()),
            };
            log_query(log, &client, &sql, &outcome, started.elapsed(), &what);
            if outcome.is_ok()
                && let Some(schema) = sink.schema.take()
            {
                // A statement without a result (DDL with --allow-writes).
                let _ = schema.send(Ok(no_result_schema()));
            }
            if let Err(status) = outcome {
                match sink.schema.take() {
                    Some(schema) => {
                        let _ = schema.send(Err(status));
                    }
                    None => {
                        let _ = batches
                            .send(Err(FlightError::Tonic(Box::new(status))))
                            .await;
                    }
                }
            }
            running.fetch_sub(1, Ordering::SeqCst);
        });
        let schema = schema
            .await
            .map_err(|_| Status::internal("the query ended without a result"))??;
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(tokio_stream(received))
            .map_err(Status::from)
            .map(move |item| {
                let _watching = &watch;
                item
            });
        Ok(Response::new(Box::pin(stream)))
    }

    /// Runs `work` (planning or a statement whose result is not streamed) on the query runtime within the
    /// query timeout; it stops when the calling client goes away (this future is dropped).
    async fn on_queries<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> std::result::Result<T, Status> {
        let timeout = self.timeout;
        let task = self.queries.spawn(within(timeout, work));
        let _stop = AbortOnDrop(task.abort_handle());
        task.await
            .map_err(|e| Status::internal(format!("the statement stopped: {e}")))?
    }

    /// [`Self::run`], or the server's own `REFRESH`.
    async fn run_or_refresh(
        &self,
        sql: String,
        values: Params,
        client: String,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        if !is_refresh(&sql) {
            return self.run(sql, values, client).await;
        }
        self.session.refresh();
        let batch = refreshed_batch();
        let schema = batch.schema();
        log_query(self.log, &client, &sql, &Ok(1), Duration::ZERO, "ok");
        Self::batch_stream(Ok::<_, Status>(batch), schema)
    }

    /// A FlightInfo for a result of `schema`, fetched with `ticket`.
    fn info(
        &self,
        schema: &Schema,
        ticket: Vec<u8>,
        descriptor: FlightDescriptor,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
        let info = FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(format!("the result's schema: {e}")))?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor);
        Ok(Response::new(info))
    }

    /// What `sql` would return (its schema as clients get it) and its parameters: planned on the query
    /// runtime, within the query timeout, and stopped when the client goes away.
    async fn describe(
        &self,
        sql: &str,
    ) -> std::result::Result<crate::engine::exec::Described, Status> {
        let session = Arc::clone(&self.session);
        let sql = sql.to_string();
        let mut described = self
            .on_queries(async move { session.describe(&sql).await })
            .await?;
        if described.schema.fields().is_empty() {
            described.schema = no_result_schema();
        } else if !self.view_types {
            described.schema = crate::writer::plain_schema(&described.schema);
        }
        described.schema = with_type_names(&described.schema);
        Ok(described)
    }

    /// A metadata result as a Flight stream.
    fn batch_stream(
        batch: std::result::Result<RecordBatch, impl std::fmt::Display>,
        schema: SchemaRef,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let batch = batch.map_err(|e| Status::internal(e.to_string()))?;
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async { Ok(batch) }))
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }

    fn catalog_names(&self) -> (String, String) {
        self.session.default_schema()
    }
}

/// `REFRESH` (any case, an optional `;`): the server's command to read the tables' file listings again.
pub(super) fn is_refresh(sql: &str) -> bool {
    sql.trim()
        .trim_end_matches(';')
        .trim()
        .eq_ignore_ascii_case("refresh")
}

/// What `REFRESH` returns: one row saying what it did.
pub(super) fn refreshed_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "refreshed",
        DataType::Utf8,
        false,
    )]));
    RecordBatch::try_new(
        schema,
        vec![Arc::new(datafusion::arrow::array::StringArray::from(vec![
            "file listings will be read again by the next query of each table",
        ]))],
    )
    .expect("one text column")
}

/// The result of a statement that returns none (`CREATE VIEW`): no rows of one column, as clients expect a
/// schema with columns.
pub(super) fn no_result_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "done",
        DataType::Boolean,
        true,
    )]))
}

/// A receiver as a stream.
pub(super) fn tokio_stream<T: Send + 'static>(
    mut received: mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| received.poll_recv(cx))
}

/// Forwards a result's batches to the client's stream; the first result's schema goes first.
pub(super) struct Forward {
    schema: Option<oneshot::Sender<std::result::Result<SchemaRef, Status>>>,
    batches: mpsc::Sender<std::result::Result<RecordBatch, FlightError>>,
    /// The client went away: the query stops.
    gone: bool,
    /// Views are sent as plain types (see [`ServeOptions::view_types`]).
    plain: bool,
}

#[async_trait]
impl ResultSink for Forward {
    async fn write(&mut self, mut stream: SendableRecordBatchStream) -> Result<u64> {
        let schema = if self.plain {
            crate::writer::plain_schema(&stream.schema())
        } else {
            stream.schema()
        };
        if let Some(sent) = self.schema.take() {
            let _ = sent.send(Ok(with_type_names(&schema)));
        }
        let mut rows = 0;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let batch = if self.plain {
                crate::writer::to_plain(&batch, &schema)?
            } else {
                batch
            };
            rows += batch.num_rows() as u64;
            if self.batches.send(Ok(batch)).await.is_err() {
                self.gone = true;
                return Err(Error::Usage("the client went away".into()));
            }
        }
        Ok(rows)
    }
}

/// One line per query on standard error.
pub(super) fn log_query(
    format: LogFormat,
    client: &str,
    sql: &str,
    outcome: &std::result::Result<u64, Status>,
    took: Duration,
    what: &str,
) {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    sql.hash(&mut hasher);
    let hash = format!("{:016x}", hasher.finish());
    let rows = outcome.as_ref().ok().copied();
    let ms = took.as_secs_f64() * 1000.0;
    match format {
        LogFormat::Text => eprintln!(
            "cxsql serve: client={client} statement={hash} rows={} ms={ms:.1} {what}",
            rows.map_or("-".to_string(), |r| r.to_string())
        ),
        LogFormat::Json => eprintln!(
            "{}",
            serde_json::json!({
                "client": client,
                "statement": hash,
                "rows": rows,
                "ms": (ms * 10.0).round() / 10.0,
                "outcome": what,
            })
        ),
    }
}

pub(super) fn client<T>(request: &Request<T>) -> String {
    request
        .remote_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.to_string())
}

#[tonic::async_trait]
impl FlightSqlService for FlightSql {
    type FlightService = FlightSql;

    /// Authentication is the bearer token on every call (checked before this); a handshake just answers.
    async fn do_handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> std::result::Result<
        Response<
            Pin<Box<dyn Stream<Item = std::result::Result<HandshakeResponse, Status>> + Send>>,
        >,
        Status,
    > {
        let response = HandshakeResponse {
            protocol_version: 0,
            payload: Default::default(),
        };
        Ok(Response::new(Box::pin(futures::stream::once(async {
            Ok(response)
        }))))
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        if is_refresh(&query.query) {
            let ticket = TicketStatementQuery {
                statement_handle: query.query.into_bytes().into(),
            };
            return self.info(
                &refreshed_batch().schema(),
                ticket.as_any().encode_to_vec(),
                request.into_inner(),
            );
        }
        let described = self.describe(&query.query).await?;
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into_bytes().into(),
        };
        self.info(
            &described.schema,
            ticket.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let sql = String::from_utf8(ticket.statement_handle.to_vec())
            .map_err(|_| Status::invalid_argument("the statement is not UTF-8 text"))?;
        self.run_or_refresh(sql, Params::new(), client(&request))
            .await
    }

    async fn do_put_statement_update(
        &self,
        command: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> std::result::Result<i64, Status> {
        let started = Instant::now();
        if is_refresh(&command.query) {
            self.session.refresh();
            log_query(
                self.log,
                &client(&request),
                &command.query,
                &Ok(0),
                started.elapsed(),
                "ok",
            );
            return Ok(0);
        }
        let session = Arc::clone(&self.session);
        let sql = command.query.clone();
        let outcome = self
            .on_queries(async move {
                let mut sink = crate::writer::Collect::default();
                session.execute(&sql, &Params::new(), &mut sink).await
            })
            .await;
        let what = match &outcome {
            Ok(_) => "ok".to_string(),
            Err(status) => format!("failed: {}", status.message()),
        };
        log_query(
            self.log,
            &client(&request),
            &command.query,
            &outcome,
            started.elapsed(),
            &what,
        );
        outcome.map(|rows| i64::try_from(rows).unwrap_or(-1))
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        _request: Request<Action>,
    ) -> std::result::Result<ActionCreatePreparedStatementResult, Status> {
        let described = if is_refresh(&query.query) {
            crate::engine::exec::Described {
                schema: refreshed_batch().schema(),
                parameters: Vec::new(),
            }
        } else {
            self.describe(&query.query).await?
        };
        let parameters = Schema::new(
            described
                .parameters
                .iter()
                .map(|(name, data_type)| {
                    let data_type = data_type.as_ref().map_or(DataType::Utf8, plain_type);
                    Field::new(name, data_type, true)
                })
                .collect::<Vec<_>>(),
        );
        let handle = self
            .handles
            .fetch_add(1, Ordering::SeqCst)
            .to_string()
            .into_bytes();
        let result = ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.clone().into(),
            dataset_schema: schema_bytes(&described.schema)?,
            parameter_schema: schema_bytes(&parameters)?,
        };
        self.prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                handle,
                Prepared {
                    sql: query.query,
                    schema: described.schema,
                    parameters: described.parameters,
                    values: Params::new(),
                },
            );
        Ok(result)
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> std::result::Result<DoPutPreparedStatementResult, Status> {
        let handle = query.prepared_statement_handle.to_vec();
        let prepared = self.prepared(&handle)?;
        let stream = request
            .into_inner()
            .map_err(|status| FlightError::Tonic(Box::new(status)));
        let batches: Vec<RecordBatch> =
            arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(stream)
                .try_collect()
                .await
                .map_err(|e| Status::invalid_argument(format!("the parameter values: {e}")))?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows != 1 {
            return Err(Status::invalid_argument(format!(
                "{rows} rows of parameter values given; one row is bound at a time"
            )));
        }
        let batch = batches
            .into_iter()
            .find(|b| b.num_rows() == 1)
            .ok_or_else(|| Status::invalid_argument("no parameter values"))?;
        let mut values = Params::new();
        for (i, column) in batch.columns().iter().enumerate() {
            let field = batch.schema().field(i).name().clone();
            // A column named like a parameter binds it; otherwise the columns bind in order.
            let name = match prepared.parameters.iter().find(|(p, _)| *p == field) {
                Some((p, _)) => p.clone(),
                None => match prepared.parameters.get(i) {
                    Some((p, _)) => p.clone(),
                    None => {
                        return Err(Status::invalid_argument(format!(
                            "{} parameter values given; the statement has {}",
                            batch.num_columns(),
                            prepared.parameters.len()
                        )));
                    }
                },
            };
            let value = ScalarValue::try_from_array(column, 0)
                .map_err(|e| Status::invalid_argument(format!("parameter {name}: {e}")))?;
            let declared = prepared
                .parameters
                .iter()
                .find(|(p, _)| *p == name)
                .and_then(|(_, t)| t.as_ref());
            let value = parameter_value(&name, value, declared)?;
            values.insert(name, ParamValue::Value(value));
        }
        if let Some(entry) = self
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&handle)
        {
            entry.values = values;
        }
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(handle.into()),
        })
    }

    async fn get_flight_info_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let prepared = self.prepared(&command.prepared_statement_handle)?;
        self.info(
            &prepared.schema,
            command.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let prepared = self.prepared(&command.prepared_statement_handle)?;
        self.run_or_refresh(prepared.sql, prepared.values, client(&request))
            .await
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        _request: Request<Action>,
    ) -> std::result::Result<(), Status> {
        self.prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(query.prepared_statement_handle.as_ref());
        Ok(())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(self.catalog_names().0);
        let schema = builder.schema();
        Self::batch_stream(builder.build(), schema)
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        _request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (catalog, schema_name) = self.catalog_names();
        let mut builder = query.into_builder();
        builder.append(catalog, schema_name);
        let schema = builder.schema();
        Self::batch_stream(builder.build(), schema)
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        _request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (catalog, schema_name) = self.catalog_names();
        let include_schema = query.include_schema;
        let mut builder = query.into_builder();
        for table in self.session.tables().await {
            let kind = if table.kind == "view" {
                "VIEW"
            } else {
                "TABLE"
            };
            let columns = if include_schema {
                // A table that cannot be read lists with no columns rather than failing the listing.
                let columns = self
                    .session
                    .schema(&table.name)
                    .await
                    .unwrap_or_else(|_| Arc::new(Schema::empty()));
                let columns = if self.view_types {
                    columns
                } else {
                    crate::writer::plain_schema(&columns)
                };
                with_type_names(&columns)
            } else {
                Arc::new(Schema::empty())
            };
            builder
                .append(&catalog, &schema_name, &table.name, kind, &columns)
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        let schema = builder.schema();
        Self::batch_stream(builder.build(), schema)
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append("TABLE");
        builder.append("VIEW");
        let schema = builder.schema();
        Self::batch_stream(builder.build(), schema)
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder(&self.info).schema();
        self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let builder = query.into_builder(&self.info);
        let schema = builder.schema();
        Self::batch_stream(builder.build(), schema)
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder(&self.types).schema();
        self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        _request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let builder = query.into_builder(&self.types);
        let schema = builder.schema();
        Self::batch_stream(builder.build(), schema)
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
