//! `status_at(at, status, instant)`: the status a ticket was in at an instant.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::DOC_SECTION;
use crate::history::{
    Const, ConstKind, Group, History, StatusEvent, StatusLog, coerce_text, state_fields,
};
use crate::time::coerce_instant;

const SIGNATURES: &str = "status_at(at TIMESTAMP, status VARCHAR, instant TIMESTAMP)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The status a ticket was in at `instant` (VARCHAR): the value of its last event at or before it, NULL \
         when it has none by then. Each row is an event of one ticket (aggregate with GROUP BY ticket_id, or \
         ticket_id and day for a backlog by status on each day); any field's history works the same way \
         (priority, team, assignee). Rows with a NULL `at`, `status` or `instant` are skipped; a group without \
         rows gives NULL. Events are taken in time order whatever the row order; two events at the same instant \
         are ordered new, open, pending, hold, solved, closed, then other values in byte order, and the later \
         one is in force at and after that instant. `instant` may be a column but must be the same on every row \
         of a group. Zone-less timestamps are UTC.",
        "status_at(at, status, instant)",
    )
    .with_argument("at", "When the status was set (TIMESTAMP or DATE).")
    .with_argument("status", "The status (or any field's value) from `at` on (VARCHAR).")
    .with_argument(
        "instant",
        "The instant to look at: a constant, or a column with one value per group (e.g. each day).",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT status_at(at, value, TIMESTAMP '2024-06-30T23:59:59Z') AS status, count(*) AS tickets\n\
         \x20 FROM ticket_events WHERE field = 'status' GROUP BY ticket_id;\n\
         > SELECT status_at(at, s, TIMESTAMP '2024-01-01T12:00:00Z') AS s FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T09:00:00Z', 'new'), (TIMESTAMP '2024-01-01T10:00:00Z', 'open'),\n\
         \x20   (TIMESTAMP '2024-01-01T12:00:00Z', 'pending'), (TIMESTAMP '2024-01-02T10:00:00Z', 'solved')) AS t(at, s);\n\
         +---------+\n\
         | s       |\n\
         +---------+\n\
         | pending |\n\
         +---------+\n\
         ```",
    )
    .build()
});

/// `status_at(at, status, instant)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct StatusAt {
    signature: Signature,
}

impl Default for StatusAt {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusAt {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn history(&self, args: &AccumulatorArgs) -> Result<StatusAtHistory> {
        if args.is_distinct {
            return plan_err!("status_at: DISTINCT is not supported; every event counts");
        }
        Ok(StatusAtHistory {
            log: StatusLog::default(),
        })
    }

    fn history_state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(
            args.name,
            StatusLog::event_fields(),
            &["instant"],
        ))
    }
}

const INSTANT: [Const; 1] = [Const {
    arg: 2,
    name: "instant",
    kind: ConstKind::Instant,
}];

#[derive(Debug, Clone)]
struct StatusAtHistory {
    log: StatusLog,
}

impl History for StatusAtHistory {
    type Event = StatusEvent;

    fn name(&self) -> &'static str {
        "status_at"
    }

    fn consts(&self) -> &[Const] {
        &INSTANT
    }

    fn required(&self) -> &[usize] {
        &[0, 1, 2]
    }

    fn read<F: FnMut(usize, StatusEvent)>(
        &mut self,
        args: &[ArrayRef],
        rows: Option<&NullBuffer>,
        f: F,
    ) -> Result<()> {
        self.log.read("status_at", &args[0], &args[1], rows, f)
    }

    fn event_fields(&self) -> Vec<(&'static str, DataType)> {
        StatusLog::event_fields()
    }

    fn events_to_arrays(&self, events: &[&[StatusEvent]]) -> Result<Vec<ArrayRef>> {
        Ok(self.log.encode(events))
    }

    fn events_from_arrays(&mut self, values: &[ArrayRef]) -> Result<Vec<StatusEvent>> {
        self.log.decode("status_at", values)
    }

    fn finish(&self, groups: &mut [Group<'_, StatusEvent>]) -> Result<ArrayRef> {
        self.log.sort(groups);
        let values: StringArray = groups
            .iter()
            .map(|g| {
                let instant = g.consts[0]?;
                let by = g.events.partition_point(|e| e.at <= instant);
                by.checked_sub(1)
                    .map(|i| self.log.statuses.name(g.events[i].code))
            })
            .collect();
        Ok(Arc::new(values))
    }
}

impl AggregateUDFImpl for StatusAt {
    fn name(&self) -> &str {
        "status_at"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.len() != 3 {
            return plan_err!(
                "status_at takes 3 arguments, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            );
        }
        Ok(vec![
            coerce_instant("status_at", "at", SIGNATURES, &args[0])?,
            coerce_text("status_at", "status", SIGNATURES, &args[1])?,
            coerce_instant("status_at", "instant", SIGNATURES, &args[2])?,
        ])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    crate::history::history_udaf_methods!(StatusAtHistory);
}
