//! The session the property tests run in.

use datafusion::prelude::{SessionConfig, SessionContext};

/// A session with the cxsql functions, `partitions` target partitions, batches of `batch_size` rows and, with
/// `skip_partial`, partial aggregation skipped from the first batch (the `convert_to_state` path).
pub fn context(partitions: usize, batch_size: usize, skip_partial: bool) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(batch_size);
    if skip_partial {
        let options = config.options_mut();
        options
            .execution
            .skip_partial_aggregation_probe_rows_threshold = 1;
        options
            .execution
            .skip_partial_aggregation_probe_ratio_threshold = 0.0;
    }
    let ctx = SessionContext::new_with_config(config);
    cxsql_udfs::register_all(&ctx);
    ctx
}
