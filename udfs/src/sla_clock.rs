//! `sla_clock(at, status, counted, target [, until [, calendar]])`: a pausable SLA clock per ticket.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::DOC_SECTION;
use crate::business_seconds::SharedCalendars;
use crate::calendar::Calendars;
use crate::clock::{
    ClockHistory, ClockKind, HISTORY_RULES, clock_state_fields, coerce_clock_args, struct_fields,
};
use crate::history::{history_udaf_methods, instant_type};

const SIGNATURES: &str = "sla_clock(at TIMESTAMP, status VARCHAR, counted VARCHAR | LIST<VARCHAR>, target INTERVAL), \
                          sla_clock(at, status, counted, target, until TIMESTAMP), \
                          sla_clock(at, status, counted, target, until, calendar VARCHAR)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        format!(
            "A pausable SLA clock per ticket (a struct): it starts at the ticket's first event and runs only \
             while the status is one of `counted`. `elapsed_seconds` (Float64) is status_seconds with the same \
             arguments; `breach_at` (TIMESTAMP, nanoseconds, in the zone of `at`) is the earliest instant at which \
             the counted time reaches `target` — inside the history if it is reached there (exactly at the end \
             of a counted status or at the close of a business window when it is reached there, not at the next \
             opening), else, when the status in force at `until` is counted, the instant it would be reached if \
             nothing changed (a prediction, possibly after `until`), else NULL; `breached` (Boolean) is \
             `breach_at <= until`, false without a breach_at. `target` is counted time whatever the calendar \
             (INTERVAL '2 days' is 172,800 counted seconds, not two business days); it must be > 0 and without \
             months (an error otherwise, naming it); a number is seconds; a NULL target gives a NULL breach_at \
             and breached. Agent work time: counted = ['new', 'open']; requester wait time: ['new', 'open', \
             'hold']. {HISTORY_RULES} A target may be a column too (e.g. from an SLA policy table), one per group."
        ),
        "sla_clock(at, status, counted, target [, until [, calendar]])",
    )
    .with_argument("at", "When the status was set (TIMESTAMP or DATE).")
    .with_argument("status", "The status from `at` on (VARCHAR).")
    .with_argument(
        "counted",
        "A constant status or list of statuses during which the clock runs (['new', 'open']).",
    )
    .with_argument(
        "target",
        "The SLA: counted time to reach (INTERVAL > 0, or seconds); a column works, one value per ticket.",
    )
    .with_argument(
        "until",
        "Optional: the instant to look at (default: the ticket's last event; NULL means the default).",
    )
    .with_argument(
        "calendar",
        "Optional: run the clock only in this calendar's business hours (a constant).",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT ticket_id, sla_clock(at, value, ['new', 'open'], INTERVAL '8 hours').breached AS breached\n\
         \x20 FROM ticket_events WHERE field = 'status' GROUP BY ticket_id;\n\
         > SELECT sla_clock(at, s, ['new', 'open'], INTERVAL '1 hour')['breach_at'] AS breach_at FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T09:00:00Z', 'new'), (TIMESTAMP '2024-01-01T09:30:00Z', 'pending'),\n\
         \x20   (TIMESTAMP '2024-01-02T10:00:00Z', 'open'), (TIMESTAMP '2024-01-02T12:00:00Z', 'solved')) AS t(at, s);\n\
         +---------------------+\n\
         | breach_at           |\n\
         +---------------------+\n\
         | 2024-01-02T10:30:00 |\n\
         +---------------------+\n\
         ```",
    )
    .build()
});

/// `sla_clock(at, status, counted, target [, until [, calendar]])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SlaClock {
    signature: Signature,
    calendars: SharedCalendars,
}

impl SlaClock {
    /// The function, reading calendars from `calendars`.
    pub fn new(calendars: Arc<Calendars>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            calendars: SharedCalendars(calendars),
        }
    }

    fn history(&self, args: &AccumulatorArgs) -> Result<ClockHistory> {
        ClockHistory::new("sla_clock", &self.calendars.0, args, ClockKind::Sla)
    }

    fn history_state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(clock_state_fields(&args, ClockKind::Sla))
    }
}

impl AggregateUDFImpl for SlaClock {
    fn name(&self) -> &str {
        "sla_clock"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        coerce_clock_args("sla_clock", SIGNATURES, args, ClockKind::Sla)
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let zone = match instant_type(args.first()) {
            DataType::Timestamp(_, zone) => zone,
            _ => None,
        };
        Ok(DataType::Struct(struct_fields(zone)))
    }

    history_udaf_methods!(ClockHistory);
}
