//! Where the server's queries run: their own runtime, tasks aborted when their client goes, and the timeout.

use std::time::Duration;

use tonic::Status;

use crate::error::Result;
use crate::front::serve::types::to_status;

/// The runtime statements are planned and run on, beside the one that answers calls. Shut down in the
/// background when the server ends (a runtime cannot be dropped inside another one).
pub(super) struct QueryRuntime(pub(super) Option<tokio::runtime::Runtime>);

impl QueryRuntime {
    pub(super) fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0
            .as_ref()
            .expect("the query runtime lives as long as the server")
            .spawn(work)
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Aborts a task when dropped: the call that waited for it is gone.
pub(super) struct AbortOnDrop(pub(super) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `work` stopped at `limit` (when there is one); its error as a status.
pub(super) async fn within<T>(
    limit: Option<Duration>,
    work: impl std::future::Future<Output = Result<T>>,
) -> std::result::Result<T, Status> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, work)
            .await
            .map_err(|_| timed_out(limit))?
            .map_err(|e| to_status(&e)),
        None => work.await.map_err(|e| to_status(&e)),
    }
}

/// The status of a statement stopped at the query timeout.
pub(super) fn timed_out(limit: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "the query ran past the server's --query-timeout of {} and was stopped (planning counts)",
        crate::error::humantime(limit)
    ))
}
