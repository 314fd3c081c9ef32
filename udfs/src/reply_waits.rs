//! `reply_waits(sent_at, author_role, public, author_id [, calendar])`: each wait of a customer for a reply.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, StructArray,
    TimestampNanosecondArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::DOC_SECTION;
use crate::business_seconds::{SharedCalendars, coerce_calendar};
use crate::calendar::{Calendar, Calendars};
use crate::history::{
    Const, Group, History, Text, calendar_arg, coerce_text, measure, nanos_at, seconds,
    state_fields, zone_of,
};
use crate::kpi::for_each_valid;
use crate::time::{coerce_instant, instants};

const SIGNATURES: &str = "reply_waits(sent_at TIMESTAMP, author_role VARCHAR, public BOOLEAN, author_id BIGINT), \
                          reply_waits(sent_at, author_role, public, author_id, calendar VARCHAR)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Every wait of a customer for a reply in one ticket's messages (a list of structs {asked_at, \
         replied_at, seconds, replier_id}). Messages are taken in `sent_at` order whatever the row order; at \
         the same instant customer messages come before agent messages (a reply in the same second answers), \
         agents by author_id. A wait starts at a public customer message when none is open and ends at the next \
         public agent message, whose author is the replier; customer messages during an open wait do not start \
         another. Private notes (public false) and system messages are ignored, even public ones: they never \
         close a wait. A wait still open at the end has NULL replied_at, seconds and replier_id. `seconds` is \
         clock time, or business time with `calendar` (a constant, as in business_seconds). author_role is \
         'customer', 'agent' or 'system' (any case; other values are an error naming them). Rows with a NULL \
         sent_at, author_role or public are skipped; a NULL author_id is a NULL replier. A group without rows \
         gives NULL; a ticket with messages but no wait gives an empty list. Instants are returned in \
         nanoseconds, in the zone of sent_at. Unnest the list to aggregate the waits (e.g. a p90 per replier).",
        "reply_waits(sent_at, author_role, public, author_id [, calendar])",
    )
    .with_argument("sent_at", "When the message was sent (TIMESTAMP or DATE).")
    .with_argument("author_role", "'customer', 'agent' or 'system' (VARCHAR).")
    .with_argument("public", "Whether the customer saw it (BOOLEAN); false for internal notes.")
    .with_argument("author_id", "Who wrote it (BIGINT); the replier of the wait it closes.")
    .with_argument(
        "calendar",
        "Optional: measure waits in this calendar's business hours (a constant).",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT w.replier_id, approx_percentile_cont(w.seconds, 0.9) AS p90_seconds\n\
         \x20 FROM (SELECT unnest(reply_waits(sent_at, author_role, public, author_id)) AS w\n\
         \x20       FROM messages GROUP BY ticket_id) GROUP BY w.replier_id;\n\
         > SELECT reply_waits(t, r, p, a)[1]['seconds'] AS s FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T09:00:00Z', 'customer', true, 1),\n\
         \x20   (TIMESTAMP '2024-01-01T09:10:00Z', 'customer', true, 1),\n\
         \x20   (TIMESTAMP '2024-01-01T09:20:00Z', 'agent', false, 7),\n\
         \x20   (TIMESTAMP '2024-01-01T09:30:00Z', 'agent', true, 8)) AS m(t, r, p, a);\n\
         +--------+\n\
         | s      |\n\
         +--------+\n\
         | 1800.0 |\n\
         +--------+\n\
         ```",
    )
    .build()
});

/// `reply_waits(sent_at, author_role, public, author_id [, calendar])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ReplyWaits {
    signature: Signature,
    calendars: SharedCalendars,
}

impl ReplyWaits {
    /// The function, reading calendars from `calendars`.
    pub fn new(calendars: Arc<Calendars>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            calendars: SharedCalendars(calendars),
        }
    }

    fn history(&self, args: &AccumulatorArgs) -> Result<Waits> {
        if args.is_distinct {
            return plan_err!("reply_waits: DISTINCT is not supported; every message counts");
        }
        Ok(Waits {
            calendar: calendar_arg("reply_waits", &self.calendars.0, args, 4)?,
            zone: zone_of(Some(&args.exprs[0].data_type(args.schema)?)),
        })
    }

    fn history_state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(args.name, event_fields(), &[]))
    }
}

/// A message that matters: a public customer or agent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Message {
    at: i64,
    agent: bool,
    author: Option<i64>,
}

impl Message {
    /// The order of messages: time, customers first, agents by id (unknown last).
    fn key(&self) -> (i64, bool, bool, i64) {
        (
            self.at,
            self.agent,
            self.author.is_none(),
            self.author.unwrap_or(0),
        )
    }
}

fn event_fields() -> Vec<(&'static str, DataType)> {
    vec![
        ("sent_at", DataType::Int64),
        ("agent", DataType::Boolean),
        ("author_id", DataType::Int64),
    ]
}

#[derive(Debug, Clone)]
struct Waits {
    calendar: Option<Arc<Calendar>>,
    zone: Option<Arc<str>>,
}

/// One wait: asked at, and (replied at, time waited in ns, replier) once answered.
type Wait = (i64, Option<(i64, i128, Option<i64>)>);

/// The waits of one ticket's sorted messages.
fn waits(calendar: Option<&Calendar>, messages: &[Message]) -> Result<Vec<Wait>> {
    let mut out = Vec::new();
    let mut open: Option<i64> = None;
    for m in messages {
        match (m.agent, open) {
            (false, None) => open = Some(m.at),
            (true, Some(asked)) => {
                let waited = measure("reply_waits", calendar, asked, m.at)?;
                out.push((asked, Some((m.at, waited, m.author))));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(asked) = open {
        out.push((asked, None));
    }
    Ok(out)
}

fn wait_fields(zone: Option<Arc<str>>) -> Fields {
    let at = DataType::Timestamp(TimeUnit::Nanosecond, zone);
    Fields::from(vec![
        Field::new("asked_at", at.clone(), true),
        Field::new("replied_at", at, true),
        Field::new("seconds", DataType::Float64, true),
        Field::new("replier_id", DataType::Int64, true),
    ])
}

/// The item of the returned list: one wait.
fn wait_item(zone: Option<Arc<str>>) -> FieldRef {
    Arc::new(Field::new_list_field(
        DataType::Struct(wait_fields(zone)),
        true,
    ))
}

impl History for Waits {
    type Event = Message;

    fn name(&self) -> &'static str {
        "reply_waits"
    }

    fn consts(&self) -> &[Const] {
        &[]
    }

    fn required(&self) -> &[usize] {
        &[0, 1, 2]
    }

    fn read<F: FnMut(usize, Message)>(
        &mut self,
        args: &[ArrayRef],
        rows: Option<&NullBuffer>,
        mut f: F,
    ) -> Result<()> {
        let (at, unit) = instants(&args[0])?;
        let role = Text::new("reply_waits", &args[1])?;
        let public = args[2].as_boolean();
        let author = args[3].as_primitive::<Int64Type>();
        let mut error = None;
        for_each_valid(at.len(), rows, |row| {
            if error.is_some() || !public.value(row) {
                return;
            }
            let r = role.value(row);
            let agent = if r.eq_ignore_ascii_case("customer") {
                false
            } else if r.eq_ignore_ascii_case("agent") {
                true
            } else if r.eq_ignore_ascii_case("system") {
                return;
            } else {
                error = Some(exec_err!(
                    "reply_waits: author_role '{r}' is not a role; expected 'customer', 'agent' or 'system'"
                ));
                return;
            };
            match nanos_at("reply_waits", &at, unit, &args[0], row) {
                Ok(t) => f(
                    row,
                    Message {
                        at: t,
                        agent,
                        author: author.is_valid(row).then(|| author.value(row)),
                    },
                ),
                Err(e) => error = Some(Err(e)),
            }
        });
        error.unwrap_or(Ok(()))
    }

    fn event_fields(&self) -> Vec<(&'static str, DataType)> {
        event_fields()
    }

    fn events_to_arrays(&self, events: &[&[Message]]) -> Result<Vec<ArrayRef>> {
        let all = || events.iter().flat_map(|e| e.iter());
        let at: Int64Array = all().map(|m| Some(m.at)).collect();
        let agent: BooleanArray = all().map(|m| Some(m.agent)).collect();
        let author: Int64Array = all().map(|m| m.author).collect();
        Ok(vec![Arc::new(at), Arc::new(agent), Arc::new(author)])
    }

    fn events_from_arrays(&mut self, values: &[ArrayRef]) -> Result<Vec<Message>> {
        let at = values[0].as_primitive::<Int64Type>();
        let agent = values[1].as_boolean();
        let author = values[2].as_primitive::<Int64Type>();
        Ok((0..at.len())
            .map(|i| Message {
                at: at.value(i),
                agent: agent.value(i),
                author: author.is_valid(i).then(|| author.value(i)),
            })
            .collect())
    }

    fn finish(&self, groups: &mut [Group<'_, Message>]) -> Result<ArrayRef> {
        let (mut asked, mut replied, mut secs, mut replier) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut lengths = Vec::with_capacity(groups.len());
        for g in groups.iter_mut() {
            g.events.sort_unstable_by_key(Message::key);
            let found = waits(self.calendar.as_deref(), g.events)?;
            lengths.push(found.len());
            for (a, reply) in found {
                asked.push(Some(a));
                replied.push(reply.map(|r| r.0));
                secs.push(reply.map(|r| seconds(r.1)));
                replier.push(reply.and_then(|r| r.2));
            }
        }
        let ts = |v: Vec<Option<i64>>| {
            Arc::new(TimestampNanosecondArray::from(v).with_timezone_opt(self.zone.clone()))
                as ArrayRef
        };
        let structs = StructArray::try_new(
            wait_fields(self.zone.clone()),
            vec![
                ts(asked),
                ts(replied),
                Arc::new(Float64Array::from(secs)),
                Arc::new(Int64Array::from(replier)),
            ],
            None,
        )?;
        let seen = NullBuffer::from(groups.iter().map(|g| g.seen).collect::<Vec<_>>());
        Ok(Arc::new(ListArray::try_new(
            wait_item(self.zone.clone()),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(structs),
            Some(seen),
        )?))
    }
}

impl AggregateUDFImpl for ReplyWaits {
    fn name(&self) -> &str {
        "reply_waits"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        const F: &str = "reply_waits";
        if !(4..=5).contains(&args.len()) {
            return plan_err!(
                "{F} takes 4 or 5 arguments, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            );
        }
        let mut types = vec![
            coerce_instant(F, "sent_at", SIGNATURES, &args[0])?,
            coerce_text(F, "author_role", SIGNATURES, &args[1])?,
        ];
        match &args[2] {
            DataType::Boolean | DataType::Null => types.push(DataType::Boolean),
            other => {
                return plan_err!(
                    "{F}: public must be a BOOLEAN, got {other}; accepted signatures: {SIGNATURES}"
                );
            }
        }
        match &args[3] {
            t if t.is_integer() || t.is_null() => types.push(DataType::Int64),
            other => {
                return plan_err!(
                    "{F}: author_id must be an integer, got {other}; accepted signatures: {SIGNATURES}"
                );
            }
        }
        if let Some(t) = args.get(4) {
            types.push(coerce_calendar(F, SIGNATURES, t)?);
        }
        Ok(types)
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(wait_item(zone_of(args.first()))))
    }

    crate::history::history_udaf_methods!(Waits);
}
