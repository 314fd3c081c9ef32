//! `status_durations(at, status [, until [, calendar]])`: the time a ticket spent in each status, in one pass.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::DOC_SECTION;
use crate::business_seconds::SharedCalendars;
use crate::calendar::Calendars;
use crate::clock::{
    ClockHistory, ClockKind, HISTORY_RULES, clock_state_fields, coerce_clock_args, durations_type,
};
use crate::history::history_udaf_methods;

const SIGNATURES: &str = "status_durations(at TIMESTAMP, status VARCHAR), \
                          status_durations(at, status, until TIMESTAMP), \
                          status_durations(at, status, until, calendar VARCHAR)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        format!(
            "Seconds a ticket spent in each of its statuses (MAP<VARCHAR, DOUBLE>, status → seconds), from its \
             first event to `until`: what status_seconds gives for each status alone, computed in one pass \
             (one aggregate instead of one per status). The map has a key for every status the ticket was in \
             by `until` (0 for one set exactly at `until`), in the order new, open, pending, hold, solved, \
             closed, then others in byte order; `m['hold']` is NULL for a ticket never on hold (use \
             coalesce(m['hold'], 0) to average over tickets). {HISTORY_RULES}"
        ),
        "status_durations(at, status [, until [, calendar]])",
    )
    .with_argument("at", "When the status was set (TIMESTAMP or DATE).")
    .with_argument("status", "The status from `at` on (VARCHAR).")
    .with_argument(
        "until",
        "Optional: the instant to count up to (default: the ticket's last event; NULL means the default).",
    )
    .with_argument(
        "calendar",
        "Optional: count business time on this calendar instead of clock time (a constant).",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT ticket_id, coalesce(d['pending'], 0) / 3600 AS pending_hours FROM (\n\
         \x20   SELECT ticket_id, status_durations(at, value) AS d\n\
         \x20   FROM ticket_events WHERE field = 'status' GROUP BY ticket_id);\n\
         > SELECT status_durations(at, s) AS d FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T09:00:00Z', 'new'), (TIMESTAMP '2024-01-01T09:30:00Z', 'open'),\n\
         \x20   (TIMESTAMP '2024-01-01T10:00:00Z', 'pending'), (TIMESTAMP '2024-01-02T10:00:00Z', 'open'),\n\
         \x20   (TIMESTAMP '2024-01-02T11:00:00Z', 'solved')) AS t(at, s);\n\
         +------------------------------------------------------------+\n\
         | d                                                          |\n\
         +------------------------------------------------------------+\n\
         | {new: 1800.0, open: 5400.0, pending: 86400.0, solved: 0.0} |\n\
         +------------------------------------------------------------+\n\
         ```",
    )
    .build()
});

/// `status_durations(at, status [, until [, calendar]])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct StatusDurations {
    signature: Signature,
    calendars: SharedCalendars,
}

impl StatusDurations {
    /// The function, reading calendars from `calendars`.
    pub fn new(calendars: Arc<Calendars>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            calendars: SharedCalendars(calendars),
        }
    }

    fn history(&self, args: &AccumulatorArgs) -> Result<ClockHistory> {
        ClockHistory::new(
            "status_durations",
            &self.calendars.0,
            args,
            ClockKind::Durations,
        )
    }

    fn history_state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(clock_state_fields(&args, ClockKind::Durations))
    }
}

impl AggregateUDFImpl for StatusDurations {
    fn name(&self) -> &str {
        "status_durations"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        coerce_clock_args("status_durations", SIGNATURES, args, ClockKind::Durations)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(durations_type())
    }

    history_udaf_methods!(ClockHistory);
}
