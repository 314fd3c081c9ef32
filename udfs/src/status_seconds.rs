//! `status_seconds(at, status, counted [, until [, calendar]])`: time a ticket spent in some statuses.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::DOC_SECTION;
use crate::business_seconds::SharedCalendars;
use crate::calendar::Calendars;
use crate::clock::{ClockHistory, ClockKind, HISTORY_RULES, clock_state_fields, coerce_clock_args};
use crate::history::history_udaf_methods;

const SIGNATURES: &str = "status_seconds(at TIMESTAMP, status VARCHAR, counted VARCHAR | LIST<VARCHAR>), \
                          status_seconds(at, status, counted, until TIMESTAMP), \
                          status_seconds(at, status, counted, until, calendar VARCHAR)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        format!(
            "Seconds a ticket spent in the statuses listed in `counted` (Float64), from its first event to \
             `until`. {HISTORY_RULES}"
        ),
        "status_seconds(at, status, counted [, until [, calendar]])",
    )
    .with_argument("at", "When the status was set (TIMESTAMP or DATE).")
    .with_argument("status", "The status from `at` on (VARCHAR).")
    .with_argument(
        "counted",
        "A constant status ('pending') or list of statuses (['new', 'open']) whose time is counted.",
    )
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
         > SELECT ticket_id, status_seconds(at, value, 'pending') / 3600 AS pending_hours\n\
         \x20 FROM ticket_events WHERE field = 'status' GROUP BY ticket_id;\n\
         > SELECT status_seconds(at, s, ['new', 'open']) AS s FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T09:00:00Z', 'new'), (TIMESTAMP '2024-01-01T09:30:00Z', 'open'),\n\
         \x20   (TIMESTAMP '2024-01-01T10:00:00Z', 'pending'), (TIMESTAMP '2024-01-02T10:00:00Z', 'open'),\n\
         \x20   (TIMESTAMP '2024-01-02T11:00:00Z', 'solved')) AS t(at, s);\n\
         +--------+\n\
         | s      |\n\
         +--------+\n\
         | 7200.0 |\n\
         +--------+\n\
         ```",
    )
    .build()
});

/// `status_seconds(at, status, counted [, until [, calendar]])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct StatusSeconds {
    signature: Signature,
    calendars: SharedCalendars,
}

impl StatusSeconds {
    /// The function, reading calendars from `calendars`.
    pub fn new(calendars: Arc<Calendars>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            calendars: SharedCalendars(calendars),
        }
    }

    fn history(&self, args: &AccumulatorArgs) -> Result<ClockHistory> {
        ClockHistory::new(
            "status_seconds",
            &self.calendars.0,
            args,
            ClockKind::Seconds,
        )
    }
}

impl StatusSeconds {
    fn history_state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(clock_state_fields(&args, ClockKind::Seconds))
    }
}

impl AggregateUDFImpl for StatusSeconds {
    fn name(&self) -> &str {
        "status_seconds"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        coerce_clock_args("status_seconds", SIGNATURES, args, ClockKind::Seconds)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    history_udaf_methods!(ClockHistory);
}
