//! The generated tables: their schemas (the canonical schema of `data/README.md`) and the builders that
//! turn generated rows into record batches.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::error::Result;

pub(super) fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The canonical `tickets` schema.
pub fn tickets_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ticket_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("priority", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
        Field::new("team", DataType::Utf8, false),
        Field::new("agent_id", DataType::Int64, true),
        Field::new("created_at", utc_micros(), false),
        Field::new("first_response_at", utc_micros(), true),
        Field::new("resolved_at", utc_micros(), true),
        Field::new("contacts", DataType::Int32, true),
        Field::new("reopened", DataType::Boolean, false),
        Field::new("handle_time_s", DataType::Int32, false),
        Field::new("wait_time_s", DataType::Int32, false),
        Field::new("goal_completed", DataType::Boolean, true),
    ]))
}

/// The canonical `surveys` schema.
pub fn surveys_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("survey_id", DataType::Int64, false),
        Field::new("ticket_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("submitted_at", utc_micros(), false),
        Field::new("nps_score", DataType::Int32, true),
        Field::new("csat_score", DataType::Int32, true),
    ]))
}

/// The canonical `servqual` schema.
pub fn servqual_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("response_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("submitted_at", utc_micros(), false),
        Field::new("dimension", DataType::Utf8, false),
        Field::new("expectation", DataType::Int32, true),
        Field::new("perception", DataType::Int32, true),
    ]))
}

/// The canonical `ticket_events` schema: one row per change of a ticket field (an audit log), written sorted by
/// `(ticket_id, at)`.
pub fn ticket_events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ticket_id", DataType::Int64, false),
        Field::new("field", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
        Field::new("at", utc_micros(), false),
        Field::new("actor_id", DataType::Int64, true),
    ]))
}

/// The canonical `messages` schema: one row per comment on a ticket, written sorted by `(ticket_id, sent_at)`.
pub fn messages_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ticket_id", DataType::Int64, false),
        Field::new("sent_at", utc_micros(), false),
        Field::new("author_id", DataType::Int64, true),
        Field::new("author_role", DataType::Utf8, false),
        Field::new("public", DataType::Boolean, false),
    ]))
}

/// The canonical `customers` schema.
pub fn customers_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("segment", DataType::Utf8, false),
        Field::new("signed_up_at", utc_micros(), false),
        Field::new("churned_at", utc_micros(), true),
        Field::new("monthly_revenue", DataType::Float64, false),
    ]))
}

/// The canonical `agents` schema.
pub fn agents_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("agent_id", DataType::Int64, false),
        Field::new("team", DataType::Utf8, false),
        Field::new("hired_at", utc_micros(), false),
        Field::new("left_at", utc_micros(), true),
    ]))
}

/// The canonical `employee_pulse` schema.
pub fn employee_pulse_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("agent_id", DataType::Int64, false),
        Field::new("team", DataType::Utf8, false),
        Field::new("submitted_at", utc_micros(), false),
        Field::new("enps_score", DataType::Int32, true),
    ]))
}

#[derive(Default)]
pub(super) struct Tickets {
    pub(super) ticket_id: Int64Builder,
    pub(super) customer_id: Int64Builder,
    pub(super) channel: StringBuilder,
    pub(super) priority: StringBuilder,
    pub(super) category: StringBuilder,
    pub(super) team: StringBuilder,
    pub(super) agent_id: Int64Builder,
    pub(super) created_at: TimestampMicrosecondBuilder,
    pub(super) first_response_at: TimestampMicrosecondBuilder,
    pub(super) resolved_at: TimestampMicrosecondBuilder,
    pub(super) contacts: Int32Builder,
    pub(super) reopened: BooleanBuilder,
    pub(super) handle_time_s: Int32Builder,
    pub(super) wait_time_s: Int32Builder,
    pub(super) goal_completed: BooleanBuilder,
    pub(super) rows: usize,
}

impl Tickets {
    pub(super) fn finish(&mut self) -> Result<RecordBatch> {
        let ts = |b: &mut TimestampMicrosecondBuilder| {
            Arc::new(b.finish().with_timezone("UTC")) as ArrayRef
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.ticket_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.priority.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.team.finish()),
            Arc::new(self.agent_id.finish()),
            ts(&mut self.created_at),
            ts(&mut self.first_response_at),
            ts(&mut self.resolved_at),
            Arc::new(self.contacts.finish()),
            Arc::new(self.reopened.finish()),
            Arc::new(self.handle_time_s.finish()),
            Arc::new(self.wait_time_s.finish()),
            Arc::new(self.goal_completed.finish()),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(tickets_schema(), columns)?)
    }
}

#[derive(Default)]
pub(super) struct Surveys {
    pub(super) survey_id: Int64Builder,
    pub(super) ticket_id: Int64Builder,
    pub(super) customer_id: Int64Builder,
    pub(super) channel: StringBuilder,
    pub(super) submitted_at: TimestampMicrosecondBuilder,
    pub(super) nps_score: Int32Builder,
    pub(super) csat_score: Int32Builder,
    pub(super) rows: usize,
}

impl Surveys {
    pub(super) fn finish(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.survey_id.finish()),
            Arc::new(self.ticket_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.submitted_at.finish().with_timezone("UTC")),
            Arc::new(self.nps_score.finish()),
            Arc::new(self.csat_score.finish()),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(surveys_schema(), columns)?)
    }
}

#[derive(Default)]
pub(super) struct Servqual {
    pub(super) response_id: Int64Builder,
    pub(super) customer_id: Int64Builder,
    pub(super) submitted_at: TimestampMicrosecondBuilder,
    pub(super) dimension: StringBuilder,
    pub(super) expectation: Int32Builder,
    pub(super) perception: Int32Builder,
    pub(super) rows: usize,
}

impl Servqual {
    pub(super) fn finish(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.response_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.submitted_at.finish().with_timezone("UTC")),
            Arc::new(self.dimension.finish()),
            Arc::new(self.expectation.finish()),
            Arc::new(self.perception.finish()),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(servqual_schema(), columns)?)
    }
}

#[derive(Default)]
pub(super) struct Pulse {
    pub(super) agent_id: Int64Builder,
    pub(super) team: StringBuilder,
    pub(super) submitted_at: TimestampMicrosecondBuilder,
    pub(super) enps_score: Int32Builder,
    pub(super) rows: usize,
}

impl Pulse {
    pub(super) fn finish(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.agent_id.finish()),
            Arc::new(self.team.finish()),
            Arc::new(self.submitted_at.finish().with_timezone("UTC")),
            Arc::new(self.enps_score.finish()),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(employee_pulse_schema(), columns)?)
    }
}

#[derive(Default)]
pub(super) struct TicketEvents {
    pub(super) ticket_id: Int64Builder,
    pub(super) field: StringBuilder,
    pub(super) value: StringBuilder,
    pub(super) at: TimestampMicrosecondBuilder,
    pub(super) actor_id: Int64Builder,
    pub(super) rows: usize,
}

impl TicketEvents {
    pub(super) fn finish(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.ticket_id.finish()),
            Arc::new(self.field.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.at.finish().with_timezone("UTC")),
            Arc::new(self.actor_id.finish()),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(ticket_events_schema(), columns)?)
    }
}

#[derive(Default)]
pub(super) struct Messages {
    pub(super) ticket_id: Int64Builder,
    pub(super) sent_at: TimestampMicrosecondBuilder,
    pub(super) author_id: Int64Builder,
    pub(super) author_role: StringBuilder,
    pub(super) public: BooleanBuilder,
    pub(super) rows: usize,
}

impl Messages {
    pub(super) fn finish(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.ticket_id.finish()),
            Arc::new(self.sent_at.finish().with_timezone("UTC")),
            Arc::new(self.author_id.finish()),
            Arc::new(self.author_role.finish()),
            Arc::new(self.public.finish()),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(messages_schema(), columns)?)
    }
}

/// The tables: six generated month by month, then the people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Table {
    Tickets,
    Surveys,
    Servqual,
    EmployeePulse,
    TicketEvents,
    Messages,
    Customers,
    Agents,
}

impl Table {
    pub(super) const ALL: [Table; 8] = [
        Table::Tickets,
        Table::Surveys,
        Table::Servqual,
        Table::EmployeePulse,
        Table::TicketEvents,
        Table::Messages,
        Table::Customers,
        Table::Agents,
    ];
    /// The tables each month adds rows to, in `Table` order.
    pub(super) const MONTHLY: [Table; 6] = [
        Table::Tickets,
        Table::Surveys,
        Table::Servqual,
        Table::EmployeePulse,
        Table::TicketEvents,
        Table::Messages,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Table::Tickets => "tickets",
            Table::Surveys => "surveys",
            Table::Servqual => "servqual",
            Table::EmployeePulse => "employee_pulse",
            Table::TicketEvents => "ticket_events",
            Table::Messages => "messages",
            Table::Customers => "customers",
            Table::Agents => "agents",
        }
    }

    /// The columns the table's rows are generated sorted by, that its files declare.
    pub(super) fn sorted_by(self) -> &'static [&'static str] {
        match self {
            Table::TicketEvents => &["ticket_id", "at"],
            Table::Messages => &["ticket_id", "sent_at"],
            _ => &[],
        }
    }

    pub(super) fn schema(self) -> SchemaRef {
        match self {
            Table::Tickets => tickets_schema(),
            Table::Surveys => surveys_schema(),
            Table::Servqual => servqual_schema(),
            Table::EmployeePulse => employee_pulse_schema(),
            Table::TicketEvents => ticket_events_schema(),
            Table::Messages => messages_schema(),
            Table::Customers => customers_schema(),
            Table::Agents => agents_schema(),
        }
    }
}
