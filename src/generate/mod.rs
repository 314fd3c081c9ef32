//! The generator: deterministic synthetic support data in the canonical schema (see `data/README.md`).
//!
//! Four years of tickets (2021–2024) with a realistic shape: a channel mix, per-channel response times and
//! first-contact resolution, priority-dependent resolution times, tickets still open near the end, surveys
//! whose NPS and CSAT depend on the channel and on first-contact resolution, and SERVQUAL responses with a
//! gap per dimension. Behind them, the people: customers who sign up and churn, and agents who are hired
//! into a team and leave, answering a monthly pulse survey (eNPS). The same seed gives the same rows. Rows
//! are generated in batches and written by one writer per table, so memory stays bounded whatever the
//! number of tickets.
//!
//! The tables tell one story, as a support director would want to find it: each customer has a hidden
//! *difficulty* that makes their tickets take longer (more SLA breaches), their answers lower (more
//! detractors) and their churn likelier; each team has a *morale* that shows in its agents' eNPS answers, in
//! the CSAT of the tickets they handle and in how soon they leave. A customer or agent is a pure function of
//! the seed and its id (or team), so every month, generated in parallel, sees the same people: a ticket goes
//! to a customer who is a customer at its creation and to an agent of its team employed then.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Array, Int64Builder, RecordBatch,
    StringArray, StringBuilder, TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal};

use crate::error::{Error, Result};
use crate::writer::{AtomicFile, OutputFormat};

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// The folder to write the tables into (created if needed): tickets, surveys, servqual, customers, agents,
    /// employee_pulse, and sla_policies.csv.
    pub out: PathBuf,
    /// Number of tickets.
    pub tickets: u64,
    /// Random seed: the same seed gives the same files.
    pub seed: u64,
    /// File format: parquet or csv (what cxsql reads back as tables).
    pub format: OutputFormat,
    /// Replace existing files.
    pub replace: bool,
    /// Tickets as a Hive-partitioned folder (tickets/year=Y/month=M/), surveys, servqual and employee_pulse
    /// as folders of one file per month, customers in files of a million, generated in parallel.
    pub partitioned: bool,
}

const BATCH: usize = 65_536;
const MICROS_PER_SECOND: i64 = 1_000_000;
const HOUR: f64 = 3_600.0;
/// 2021-01-01T00:00:00Z and 2025-01-01T00:00:00Z, in seconds.
const START: i64 = 1_609_459_200;
const END: i64 = 1_735_689_600;
const DAY: i64 = 86_400;
/// 2018-01-01T00:00:00Z: the first customers signed up three years before the tickets begin.
const SIGNUP_START: i64 = 1_514_764_800;
/// The mean length of a month, seconds.
const MONTH: f64 = 30.436_875 * 86_400.0;
/// Customers per file of the partitioned `customers/` folder.
const CUSTOMERS_PER_PART: i64 = 1_000_000;

/// (segment, share of customers, median monthly revenue, monthly churn hazard of a customer of average
/// difficulty).
const SEGMENTS: [(&str, f64, f64, f64); 3] = [
    ("smb", 0.6, 49.0, 0.013),
    ("mid_market", 0.3, 790.0, 0.0075),
    ("enterprise", 0.1, 7_900.0, 0.0033),
];

/// (team, share of the agents, morale): the teams that handle tickets (see `generate_month`), their size
/// in proportion to their tickets and the morale that moves their agents' eNPS, their tickets' CSAT and
/// their turnover.
const TEAMS: [(&str, f64, f64); 4] = [
    ("tier1", 0.46, 0.0),
    ("tier2", 0.09, 0.9),
    ("billing", 0.30, -1.0),
    ("logistics", 0.15, 0.4),
];

const DIMENSIONS: [(&str, f64); 5] = [
    ("tangibles", 0.1),
    ("reliability", -0.9),
    ("responsiveness", -0.6),
    ("assurance", -0.2),
    ("empathy", -0.35),
];

/// One channel's behaviour.
struct Channel {
    name: &'static str,
    share: f64,
    /// Mean first response, minutes.
    first_response_min: f64,
    /// Probability of resolution at the first contact.
    fcr: f64,
    /// NPS and CSAT shift of the channel.
    mood: f64,
    handle_time_s: f64,
    /// Mean wait in a queue, seconds (0: asynchronous channel).
    wait_s: f64,
}

const CHANNELS: [Channel; 5] = [
    Channel {
        name: "email",
        share: 0.35,
        first_response_min: 240.0,
        fcr: 0.55,
        mood: 0.0,
        handle_time_s: 300.0,
        wait_s: 0.0,
    },
    Channel {
        name: "chat",
        share: 0.28,
        first_response_min: 2.0,
        fcr: 0.72,
        mood: 0.4,
        handle_time_s: 600.0,
        wait_s: 45.0,
    },
    Channel {
        name: "phone",
        share: 0.20,
        first_response_min: 1.0,
        fcr: 0.80,
        mood: 0.7,
        handle_time_s: 480.0,
        wait_s: 90.0,
    },
    Channel {
        name: "web",
        share: 0.12,
        first_response_min: 180.0,
        fcr: 0.60,
        mood: -0.4,
        handle_time_s: 300.0,
        wait_s: 0.0,
    },
    Channel {
        name: "social",
        share: 0.05,
        first_response_min: 60.0,
        fcr: 0.50,
        mood: -1.0,
        handle_time_s: 200.0,
        wait_s: 0.0,
    },
];

/// (priority, share, median resolution hours)
const PRIORITIES: [(&str, f64, f64); 4] = [
    ("low", 0.35, 60.0),
    ("normal", 0.40, 30.0),
    ("high", 0.20, 12.0),
    ("urgent", 0.05, 4.0),
];

const CATEGORIES: [(&str, f64); 5] = [
    ("billing", 0.30),
    ("technical", 0.35),
    ("account", 0.15),
    ("shipping", 0.15),
    ("feedback", 0.05),
];

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T], share: impl Fn(&T) -> f64) -> &'a T {
    let mut u: f64 = rng.random();
    for item in items {
        u -= share(item);
        if u < 0.0 {
            return item;
        }
    }
    &items[items.len() - 1]
}

fn utc_micros() -> DataType {
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
struct Tickets {
    ticket_id: Int64Builder,
    customer_id: Int64Builder,
    channel: StringBuilder,
    priority: StringBuilder,
    category: StringBuilder,
    team: StringBuilder,
    agent_id: Int64Builder,
    created_at: TimestampMicrosecondBuilder,
    first_response_at: TimestampMicrosecondBuilder,
    resolved_at: TimestampMicrosecondBuilder,
    contacts: Int32Builder,
    reopened: BooleanBuilder,
    handle_time_s: Int32Builder,
    wait_time_s: Int32Builder,
    goal_completed: BooleanBuilder,
    rows: usize,
}

impl Tickets {
    fn finish(&mut self) -> Result<RecordBatch> {
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
struct Surveys {
    survey_id: Int64Builder,
    ticket_id: Int64Builder,
    customer_id: Int64Builder,
    channel: StringBuilder,
    submitted_at: TimestampMicrosecondBuilder,
    nps_score: Int32Builder,
    csat_score: Int32Builder,
    rows: usize,
}

impl Surveys {
    fn finish(&mut self) -> Result<RecordBatch> {
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
struct Servqual {
    response_id: Int64Builder,
    customer_id: Int64Builder,
    submitted_at: TimestampMicrosecondBuilder,
    dimension: StringBuilder,
    expectation: Int32Builder,
    perception: Int32Builder,
    rows: usize,
}

impl Servqual {
    fn finish(&mut self) -> Result<RecordBatch> {
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
struct Pulse {
    agent_id: Int64Builder,
    team: StringBuilder,
    submitted_at: TimestampMicrosecondBuilder,
    enps_score: Int32Builder,
    rows: usize,
}

impl Pulse {
    fn finish(&mut self) -> Result<RecordBatch> {
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

/// A reproducible stream of numbers from a seed (SplitMix64): cheap enough to recreate a customer from its
/// id every time a ticket considers it.
struct Hashed(u64);

impl Hashed {
    fn new(seed: u64, salt: u64, id: i64) -> Self {
        let mut h = Hashed(seed ^ salt ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        h.next();
        h
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Exponential with mean 1.
    fn exp1(&mut self) -> f64 {
        -(1.0 - self.unit()).ln()
    }
}

/// One customer, recreated from the seed and its id.
#[derive(Debug, Clone, Copy)]
struct Customer {
    segment: &'static str,
    /// Seconds since the epoch.
    signed_up: i64,
    /// Seconds since the epoch; `None`: still a customer at the end of the history.
    churned: Option<i64>,
    monthly_revenue: f64,
    /// Hidden: how hard this customer's problems are (standard normal). It slows their resolutions, lowers
    /// their answers and raises their churn.
    difficulty: f64,
}

impl Customer {
    fn of(seed: u64, id: i64) -> Customer {
        let mut h = Hashed::new(seed, 0xC057_0E45_0000_0001, id);
        let u = h.unit();
        let mut acc = 0.0;
        let &(segment, _, revenue, hazard) = SEGMENTS
            .iter()
            .find(|s| {
                acc += s.1;
                u < acc
            })
            .unwrap_or(&SEGMENTS[SEGMENTS.len() - 1]);
        let difficulty = h.normal();
        let monthly_revenue = (revenue * (0.5 * h.normal()).exp() * 100.0).round() / 100.0;
        let signed_up = SIGNUP_START + (h.unit() * (END - DAY - SIGNUP_START) as f64) as i64;
        let lifetime = h.exp1() / (hazard * difficulty.exp()) * MONTH;
        let churned = signed_up.saturating_add(lifetime.min(1e15) as i64 + 1);
        Customer {
            segment,
            signed_up,
            churned: (churned < END).then_some(churned),
            monthly_revenue,
            difficulty,
        }
    }

    /// A customer at instant `t` (seconds): signed up by then and not churned yet.
    fn active_at(&self, t: i64) -> bool {
        self.signed_up <= t && self.churned.is_none_or(|c| c > t)
    }
}

/// One agent: a seat of a team held from `hired` to `left`.
#[derive(Debug, Clone)]
struct Agent {
    id: i64,
    team: &'static str,
    /// Seconds since the epoch.
    hired: i64,
    /// `None`: still in the team at the end of the history.
    left: Option<i64>,
    /// The team's morale and the agent's own (eNPS-answer points around the team's).
    morale: f64,
}

impl Agent {
    fn active_at(&self, t: i64) -> bool {
        self.hired <= t && self.left.is_none_or(|l| l > t)
    }
}

/// Everyone behind the tickets: the number of customers, and the agents of each team's seats.
struct People {
    seed: u64,
    customers: i64,
    /// Ordered by hire date; ids rise with it.
    agents: Vec<Agent>,
    /// Per team (in `TEAMS` order), its seats; per seat, the indices into `agents` of who held it, in turn.
    seats: Vec<Vec<Vec<usize>>>,
}

impl People {
    /// `customers` customers; agents in seats: one per 200 tickets, 120 to 20,000 seats.
    fn new(seed: u64, tickets: u64) -> People {
        let seats_total = (tickets / 200).clamp(120, 20_000) as f64;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA6E7_5EA7_0000_0001);
        let normal = Normal::new(0.0, 1.0).expect("a valid normal");
        let exp1 = Exp::new(1.0).expect("a valid exponential");
        // (team index, seat, hired, left, morale), seat by seat.
        let mut held = Vec::new();
        for (team, &(_, share, team_morale)) in TEAMS.iter().enumerate() {
            let seats = ((seats_total * share).round() as usize).max(1);
            for seat in 0..seats {
                // The seat's first holder was hired in the four years before the history.
                let mut hired = START - rng.random_range(0..4 * 365 * DAY);
                loop {
                    let morale = team_morale + 0.7 * normal.sample(&mut rng);
                    // Monthly leave hazard 2.5% at morale 0, lower for happier agents.
                    let tenure = exp1.sample(&mut rng) / (0.025 * (-0.5 * morale).exp()) * MONTH;
                    let left = hired.saturating_add(tenure.min(1e15) as i64 + DAY);
                    let stays = left >= END;
                    held.push((team, seat, hired, (!stays).then_some(left), morale));
                    if stays {
                        break;
                    }
                    // The seat is filled again 1 to 45 days later.
                    hired = left + rng.random_range(DAY..45 * DAY);
                    if hired >= END {
                        break;
                    }
                }
            }
        }
        // Ids in order of hire (seat order breaks ties).
        let mut order: Vec<usize> = (0..held.len()).collect();
        order.sort_by_key(|&i| (held[i].2, i));
        let mut agents = Vec::with_capacity(held.len());
        let mut seats: Vec<Vec<Vec<usize>>> = TEAMS
            .iter()
            .map(|&(_, share, _)| vec![Vec::new(); ((seats_total * share).round() as usize).max(1)])
            .collect();
        for (index, &i) in order.iter().enumerate() {
            let (team, seat, hired, left, morale) = held[i];
            agents.push(Agent {
                id: index as i64 + 1,
                team: TEAMS[team].0,
                hired,
                left,
                morale,
            });
            seats[team][seat].push(index);
        }
        for team in &mut seats {
            for seat in team.iter_mut() {
                seat.sort_by_key(|&a| agents[a].hired);
            }
        }
        People {
            seed,
            customers: (tickets / 3).max(1) as i64,
            agents,
            seats,
        }
    }

    /// A customer who is a customer at `t` (seconds), drawn at random; after 64 misses, the first such
    /// customer after a random id (a tiny history may have none: then the last id drawn).
    fn customer_at(&self, t: i64, rng: &mut ChaCha8Rng) -> (i64, Customer) {
        let mut id = 1;
        for _ in 0..64 {
            id = rng.random_range(1..=self.customers);
            let c = Customer::of(self.seed, id);
            if c.active_at(t) {
                return (id, c);
            }
        }
        for step in 1..self.customers.min(1 << 16) {
            let next = (id + step - 1) % self.customers + 1;
            let c = Customer::of(self.seed, next);
            if c.active_at(t) {
                return (next, c);
            }
        }
        (id, Customer::of(self.seed, id))
    }

    /// An agent of `team` employed at `t` (seconds): a random seat's holder then, or `None` when 16 seats in
    /// a row were between holders.
    fn agent_at(&self, team: &str, t: i64, rng: &mut ChaCha8Rng) -> Option<&Agent> {
        let seats = &self.seats[TEAMS.iter().position(|(name, ..)| *name == team)?];
        for _ in 0..16 {
            let seat = &seats[rng.random_range(0..seats.len())];
            if let Some(&a) = seat.iter().find(|&&a| self.agents[a].active_at(t)) {
                return Some(&self.agents[a]);
            }
        }
        None
    }
}

/// Random draws used per ticket.
struct Draws {
    normal: Normal<f64>,
    exp1: Exp<f64>,
    lognormal: LogNormal<f64>,
}

fn clamp_round(v: f64, lo: i32, hi: i32) -> i32 {
    (v.round() as i32).clamp(lo, hi)
}

/// The tables: four generated month by month, then the people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Tickets,
    Surveys,
    Servqual,
    EmployeePulse,
    Customers,
    Agents,
}

impl Table {
    const ALL: [Table; 6] = [
        Table::Tickets,
        Table::Surveys,
        Table::Servqual,
        Table::EmployeePulse,
        Table::Customers,
        Table::Agents,
    ];
    /// The tables each month adds rows to, in `Table` order.
    const MONTHLY: [Table; 4] = [
        Table::Tickets,
        Table::Surveys,
        Table::Servqual,
        Table::EmployeePulse,
    ];

    fn name(self) -> &'static str {
        match self {
            Table::Tickets => "tickets",
            Table::Surveys => "surveys",
            Table::Servqual => "servqual",
            Table::EmployeePulse => "employee_pulse",
            Table::Customers => "customers",
            Table::Agents => "agents",
        }
    }

    fn schema(self) -> SchemaRef {
        match self {
            Table::Tickets => tickets_schema(),
            Table::Surveys => surveys_schema(),
            Table::Servqual => servqual_schema(),
            Table::EmployeePulse => employee_pulse_schema(),
            Table::Customers => customers_schema(),
            Table::Agents => agents_schema(),
        }
    }
}

/// Customers `ids` as batches.
fn customer_batches(
    people: &People,
    ids: std::ops::Range<i64>,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut start = ids.start;
    while start < ids.end {
        let end = (start + BATCH as i64).min(ids.end);
        let mut id = Int64Builder::new();
        let mut segment = StringBuilder::new();
        let mut signed_up = TimestampMicrosecondBuilder::new();
        let mut churned = TimestampMicrosecondBuilder::new();
        let mut revenue = Float64Builder::new();
        for i in start..end {
            let c = Customer::of(people.seed, i);
            id.append_value(i);
            segment.append_value(c.segment);
            signed_up.append_value(c.signed_up * MICROS_PER_SECOND);
            churned.append_option(c.churned.map(|t| t * MICROS_PER_SECOND));
            revenue.append_value(c.monthly_revenue);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(segment.finish()),
            Arc::new(signed_up.finish().with_timezone("UTC")),
            Arc::new(churned.finish().with_timezone("UTC")),
            Arc::new(revenue.finish()),
        ];
        sink(RecordBatch::try_new(customers_schema(), columns)?)?;
        start = end;
    }
    Ok(())
}

/// The agents as one batch.
fn agent_batch(people: &People) -> Result<RecordBatch> {
    let a = &people.agents;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(a.iter().map(|a| Some(a.id)).collect::<Int64Array>()),
        Arc::new(a.iter().map(|a| Some(a.team)).collect::<StringArray>()),
        Arc::new(
            a.iter()
                .map(|a| Some(a.hired * MICROS_PER_SECOND))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        Arc::new(
            a.iter()
                .map(|a| a.left.map(|t| t * MICROS_PER_SECOND))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
    ];
    Ok(RecordBatch::try_new(agents_schema(), columns)?)
}

/// One calendar month of the history and its share of the tickets.
#[derive(Debug, Clone, Copy)]
struct Month {
    index: u64,
    year: i32,
    month: u32,
    start: i64,
    end: i64,
    first_ticket: i64,
    tickets: u64,
}

/// The 48 months of 2021–2024, each with tickets in proportion to its length; ticket ids rise with time.
fn months(tickets: u64) -> Vec<Month> {
    let mut out = Vec::new();
    let (mut year, mut month, mut start) = (2021, 1u32, START);
    let total = (END - START) as f64;
    let mut given = 0u64;
    for index in 0..48u64 {
        let (next_year, next_month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let days = match month {
            2 if year % 4 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let end = start + days * DAY;
        let through = ((end - START) as f64 / total * tickets as f64).round() as u64;
        out.push(Month {
            index,
            year,
            month,
            start,
            end,
            first_ticket: given as i64 + 1,
            tickets: through - given,
        });
        given = through;
        (year, month, start) = (next_year, next_month, end);
    }
    out
}

/// Targets per channel and priority, in hours: the first reply and the resolution, on the clock named by
/// `clock` (`calendar`: around the clock; `default`: Mon–Fri 09:00–17:00 UTC business hours).
pub const SLA_POLICIES: &str = "\
channel,priority,first_reply_hours,resolution_hours,clock
chat,urgent,0.25,4,calendar
chat,high,0.5,8,calendar
chat,normal,1,24,calendar
chat,low,2,48,calendar
phone,urgent,0.25,4,calendar
phone,high,0.5,8,calendar
phone,normal,1,24,calendar
phone,low,2,48,calendar
email,urgent,1,8,default
email,high,4,16,default
email,normal,8,40,default
email,low,16,80,default
web,urgent,1,8,default
web,high,4,16,default
web,normal,8,40,default
web,low,16,80,default
social,urgent,1,8,calendar
social,high,2,24,calendar
social,normal,4,48,calendar
social,low,8,96,calendar
";

/// The most tickets `gen` writes: a month (1/48 of them) is generated in memory, about 100 bytes a ticket.
pub const MAX_TICKETS: u64 = 1_000_000_000;

/// Bytes written per ticket, its surveys, SERVQUAL responses and a third of a customer included: measured on
/// 20,000 tickets (54 for Parquet, 169 for CSV before the customers), with a margin.
fn bytes_per_ticket(format: OutputFormat) -> u64 {
    match format {
        OutputFormat::Csv => 240,
        _ => 80,
    }
}

/// Refuses to start when the files would not fit on the disk of `options.out`.
fn check_space(options: &GenOptions) -> Result<()> {
    let needed = options
        .tickets
        .saturating_mul(bytes_per_ticket(options.format));
    let Ok(stats) = rustix::fs::statvfs(&options.out) else {
        return Ok(());
    };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    if needed > free {
        return Err(Error::Usage(format!(
            "{}: {} tickets need about {} of disk space, and only {} is free there",
            options.out.display(),
            options.tickets,
            human_bytes(needed),
            human_bytes(free)
        )));
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1u32 << 20)),
        b => format!("{:.1} KB", b as f64 / 1024.0),
    }
}

/// Writes the tables into `options.out`: one file per table, or with `partitioned` a Hive-partitioned
/// `tickets/year=Y/month=M/` folder and `surveys/`, `servqual/` folders of one file per month, written by one
/// thread per core. Each month has its own random stream (from the seed and the month), so the rows are the
/// same either way and whatever the number of threads.
pub fn generate(options: &GenOptions) -> Result<()> {
    if !matches!(options.format, OutputFormat::Parquet | OutputFormat::Csv) {
        return Err(Error::Usage(format!(
            "generated data is written as parquet or csv, not {}",
            options.format
        )));
    }
    if options.tickets > MAX_TICKETS {
        return Err(Error::Usage(format!(
            "--tickets {}: at most {MAX_TICKETS} tickets are generated (about {} GB of {})",
            options.tickets,
            (MAX_TICKETS * bytes_per_ticket(options.format)) >> 30,
            options.format
        )));
    }
    let extension = options.format.extension();
    std::fs::create_dir_all(&options.out).map_err(|e| Error::io(&options.out, e))?;
    check_space(options)?;
    let targets: Vec<PathBuf> = Table::ALL
        .iter()
        .map(|t| match options.partitioned {
            false => options.out.join(format!("{}.{extension}", t.name())),
            true => options.out.join(t.name()),
        })
        .collect();
    if let Some(existing) = targets.iter().find(|p| p.exists()) {
        if !options.replace {
            return Err(Error::Exists {
                path: existing.clone(),
                what: if existing.is_dir() { "folder" } else { "file" },
            });
        }
        for target in targets.iter().filter(|p| p.is_dir()) {
            std::fs::remove_dir_all(target).map_err(|e| Error::io(target, e))?;
        }
    }
    // The SLA policy table the saved SLA queries join on: small and fixed, written beside the data.
    let policies = options.out.join("sla_policies.csv");
    if policies.exists() && !options.replace {
        return Err(Error::Exists {
            path: policies,
            what: "file",
        });
    }
    std::fs::write(&policies, SLA_POLICIES).map_err(|e| Error::io(&policies, e))?;
    let plan = months(options.tickets);
    let people = People::new(options.seed, options.tickets);
    if options.partitioned {
        return generate_partitioned(options, &plan, &people, extension);
    }
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for (target, table) in targets.iter().zip(Table::ALL) {
            let (tx, rx) = sync_channel::<RecordBatch>(4);
            senders.push(tx);
            let format = options.format;
            handles.push(scope.spawn(move || {
                let (out, mut writer) = AtomicFile::writer(target, format, table.schema())?;
                for batch in rx {
                    writer.write(&batch)?;
                }
                writer.finish()?;
                Ok::<AtomicFile, Error>(out)
            }));
        }
        // The customers on a thread of their own, the months on this one.
        let customers_tx = senders[Table::Customers as usize].clone();
        let people = &people;
        let customers = scope.spawn(move || {
            customer_batches(people, 1..people.customers + 1, &mut |batch| {
                customers_tx
                    .send(batch)
                    .map_err(|_| Error::Internal("a writer stopped early".into()))
            })
        });
        let send = |table: Table, batch: RecordBatch| {
            senders[table as usize]
                .send(batch)
                .map_err(|_| Error::Internal("a writer stopped early".into()))
        };
        let generated = plan
            .iter()
            .try_for_each(|m| generate_month(m, people, &mut |table, batch| send(table, batch)))
            .and_then(|()| send(Table::Agents, agent_batch(people)?));
        drop(senders);
        let customers = customers
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the customer thread panicked".into())));
        let mut written = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(result) => written.push(result),
                Err(_) => written.push(Err(Error::Internal("a writer thread panicked".into()))),
            }
        }
        generated?;
        customers?;
        for out in written.into_iter().collect::<Result<Vec<AtomicFile>>>()? {
            out.commit()?;
        }
        Ok(())
    })
}

/// One piece of the partitioned output, written by one worker.
enum Work<'a> {
    Month(&'a Month),
    /// Chunk `index` of the customers: ids `ids`.
    Customers(usize, std::ops::Range<i64>),
    Agents,
}

fn generate_partitioned(
    options: &GenOptions,
    plan: &[Month],
    people: &People,
    extension: &str,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut work: Vec<Work> = plan.iter().map(Work::Month).collect();
    for (index, start) in (1..=people.customers)
        .step_by(CUSTOMERS_PER_PART as usize)
        .enumerate()
    {
        work.push(Work::Customers(
            index,
            start..(start + CUSTOMERS_PER_PART).min(people.customers + 1),
        ));
    }
    work.push(Work::Agents);
    let writer = |path: PathBuf, table: Table| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        AtomicFile::writer(&path, options.format, table.schema())
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = work.get(i) else {
                            return Ok(());
                        };
                        match item {
                            Work::Month(m) => {
                                let mut writers = Vec::new();
                                for table in Table::MONTHLY {
                                    let path = match table {
                                        Table::Tickets => format!(
                                            "tickets/year={}/month={}/part-0.{extension}",
                                            m.year, m.month
                                        ),
                                        _ => format!(
                                            "{}/part-{:02}.{extension}",
                                            table.name(),
                                            m.index
                                        ),
                                    };
                                    writers.push(writer(options.out.join(path), table)?);
                                }
                                generate_month(m, people, &mut |table, batch| {
                                    writers[table as usize].1.write(&batch)
                                })?;
                                for (out, writer) in writers {
                                    writer.finish()?;
                                    out.commit()?;
                                }
                            }
                            Work::Customers(index, ids) => {
                                let path = format!("customers/part-{index:02}.{extension}");
                                let (out, mut w) =
                                    writer(options.out.join(path), Table::Customers)?;
                                customer_batches(people, ids.clone(), &mut |batch| {
                                    w.write(&batch)
                                })?;
                                w.finish()?;
                                out.commit()?;
                            }
                            Work::Agents => {
                                let path = format!("agents/part-0.{extension}");
                                let (out, mut w) = writer(options.out.join(path), Table::Agents)?;
                                w.write(&agent_batch(people)?)?;
                                w.finish()?;
                                out.commit()?;
                            }
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| Error::Internal("a generator thread panicked".into()))??;
        }
        Ok(())
    })
}

/// Generates one month's tickets (in creation order), their surveys and SERVQUAL responses, and the month's
/// pulse survey of the agents.
fn generate_month(
    m: &Month,
    people: &People,
    sink: &mut dyn FnMut(Table, RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(people.seed ^ (m.index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let draws = Draws {
        normal: Normal::new(0.0, 1.0).map_err(|e| Error::Internal(e.to_string()))?,
        exp1: Exp::new(1.0).map_err(|e| Error::Internal(e.to_string()))?,
        lognormal: LogNormal::new(0.0, 1.0).map_err(|e| Error::Internal(e.to_string()))?,
    };
    // Creation instants, sorted: weekdays are busier (a weekend draw is kept half of the time).
    let mut instants: Vec<i64> = (0..m.tickets)
        .map(|_| {
            let mut t = rng.random_range(m.start..m.end);
            if matches!((t / DAY + 4) % 7, 0 | 6) && rng.random_bool(0.5) {
                t = rng.random_range(m.start..m.end);
            }
            t
        })
        .collect();
    instants.sort_unstable();
    let end_us = END * MICROS_PER_SECOND;
    let (mut t, mut s, mut q) = (Tickets::default(), Surveys::default(), Servqual::default());
    let us = |seconds: f64| (seconds * MICROS_PER_SECOND as f64) as i64;
    for (ticket_id, &created) in (m.first_ticket..).zip(&instants) {
        let channel = pick(&mut rng, &CHANNELS, |c| c.share);
        let (priority, _, median_hours) = *pick(&mut rng, &PRIORITIES, |p| p.1);
        let (category, _) = *pick(&mut rng, &CATEGORIES, |c| c.1);
        let (customer_id, customer) = people.customer_at(created, &mut rng);
        // Harder problems take longer to resolve.
        let slowness = (0.7 * customer.difficulty).exp();
        let created_us = created * MICROS_PER_SECOND;
        let recent = created > END - 30 * DAY;
        // Nothing happens after the end of the history: later responses and resolutions have not happened yet.
        let responded = !rng.random_bool(if recent { 0.1 } else { 0.005 });
        let first_response = responded
            .then(|| {
                created_us + us(60.0 * channel.first_response_min * draws.exp1.sample(&mut rng))
            })
            .filter(|&t| t < end_us);
        let first_contact = rng.random_bool(channel.fcr);
        let stays_open = rng.random_bool(if recent { 0.2 } else { 0.002 });
        let resolved = first_response
            .filter(|_| !stays_open)
            .map(|after| {
                after + us(median_hours * slowness * draws.lognormal.sample(&mut rng) * HOUR)
            })
            .filter(|&t| t < end_us);
        let open = resolved.is_none();
        let responded = first_response.is_some();
        let contacts = (!open).then(|| {
            if first_contact {
                1
            } else {
                2 + (draws.exp1.sample(&mut rng) * 1.2) as i32
            }
        });
        let team = match (category, priority) {
            ("billing", _) => "billing",
            ("shipping", _) => "logistics",
            ("technical", "high" | "urgent") => "tier2",
            _ => "tier1",
        };

        t.ticket_id.append_value(ticket_id);
        t.customer_id.append_value(customer_id);
        t.channel.append_value(channel.name);
        t.priority.append_value(priority);
        t.category.append_value(category);
        t.team.append_value(team);
        let agent = (responded && !rng.random_bool(0.02))
            .then(|| people.agent_at(team, created, &mut rng))
            .flatten();
        t.agent_id.append_option(agent.map(|a| a.id));
        t.created_at.append_value(created_us);
        t.first_response_at.append_option(first_response);
        t.resolved_at.append_option(resolved);
        t.contacts.append_option(contacts);
        t.reopened.append_value(!open && rng.random_bool(0.04));
        let handle = channel.handle_time_s * draws.lognormal.sample(&mut rng).sqrt();
        t.handle_time_s.append_value(handle as i32);
        t.wait_time_s
            .append_value((channel.wait_s * draws.exp1.sample(&mut rng)) as i32);
        t.goal_completed.append_option(
            (!rng.random_bool(0.1)).then(|| rng.random_bool(if first_contact { 0.9 } else { 0.6 })),
        );
        t.rows += 1;
        if t.rows == BATCH {
            // A signal stops the generator between batches; the files being written are removed.
            if let Some(signal) = crate::guard::stopping() {
                return Err(Error::Interrupted { signal });
            }
            sink(Table::Tickets, t.finish()?)?;
        }

        let Some(resolved) = resolved else { continue };
        if rng.random_bool(0.3) {
            // At most one survey per ticket: the ticket's id is the survey's.
            let survey_id = ticket_id;
            let fcr_mood = if first_contact { 1.0 } else { -1.2 };
            // The customer's difficulty lowers their answers; the agent's morale shows in them.
            let mood = channel.mood + fcr_mood - 1.2 * customer.difficulty
                + agent.map_or(0.0, |a| 0.5 * a.morale);
            let nps = 7.3 + mood + 2.2 * draws.normal.sample(&mut rng);
            let csat = 3.9 + 0.5 * mood + 0.9 * draws.normal.sample(&mut rng);
            s.survey_id.append_value(survey_id);
            s.ticket_id.append_value(ticket_id);
            s.customer_id.append_value(customer_id);
            s.channel.append_value(channel.name);
            let submitted = resolved + us(6.0 * HOUR * draws.exp1.sample(&mut rng));
            s.submitted_at.append_value(submitted.min(end_us - 1));
            s.nps_score
                .append_option((!rng.random_bool(0.08)).then(|| clamp_round(nps, 0, 10)));
            s.csat_score
                .append_option((!rng.random_bool(0.05)).then(|| clamp_round(csat, 1, 5)));
            s.rows += 1;
            if s.rows >= BATCH {
                sink(Table::Surveys, s.finish()?)?;
            }
        }
        if ticket_id % 15 == 0 {
            let response_id = ticket_id / 15;
            let submitted =
                (resolved + us(24.0 * HOUR * draws.exp1.sample(&mut rng))).min(end_us - 1);
            for (dimension, gap) in DIMENSIONS {
                let expectation = 6.2 + 0.8 * draws.normal.sample(&mut rng);
                let perception =
                    expectation + gap + 0.5 * channel.mood + draws.normal.sample(&mut rng);
                q.response_id.append_value(response_id);
                q.customer_id.append_value(customer_id);
                q.submitted_at.append_value(submitted);
                q.dimension.append_value(dimension);
                q.expectation.append_option(
                    (!rng.random_bool(0.03)).then(|| clamp_round(expectation, 1, 7)),
                );
                q.perception
                    .append_option((!rng.random_bool(0.03)).then(|| clamp_round(perception, 1, 7)));
                q.rows += 1;
            }
            if q.rows >= BATCH {
                sink(Table::Servqual, q.finish()?)?;
            }
        }
    }
    if t.rows > 0 {
        sink(Table::Tickets, t.finish()?)?;
    }
    if s.rows > 0 {
        sink(Table::Surveys, s.finish()?)?;
    }
    if q.rows > 0 {
        sink(Table::Servqual, q.finish()?)?;
    }
    pulse_month(m, people, &mut rng, &draws, sink)
}

/// The month's pulse survey: each agent employed during the month answers it with probability 0.75 on a
/// random instant of their time in it, "how likely are you to recommend working here" on 0–10 around their
/// morale; 8% skip the question (NULL).
fn pulse_month(
    m: &Month,
    people: &People,
    rng: &mut ChaCha8Rng,
    draws: &Draws,
    sink: &mut dyn FnMut(Table, RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut answers = Vec::new();
    for agent in &people.agents {
        let from = agent.hired.max(m.start);
        let to = agent.left.unwrap_or(END).min(m.end);
        if from >= to || !rng.random_bool(0.75) {
            continue;
        }
        let at = rng.random_range(from..to);
        let score = 7.6 + 1.5 * agent.morale + 1.8 * draws.normal.sample(rng);
        let skipped = rng.random_bool(0.08);
        answers.push((at, agent, (!skipped).then(|| clamp_round(score, 0, 10))));
    }
    answers.sort_by_key(|&(at, agent, _)| (at, agent.id));
    let mut p = Pulse::default();
    for (at, agent, score) in answers {
        p.agent_id.append_value(agent.id);
        p.team.append_value(agent.team);
        p.submitted_at.append_value(at * MICROS_PER_SECOND);
        p.enps_score.append_option(score);
        p.rows += 1;
        if p.rows >= BATCH {
            sink(Table::EmployeePulse, p.finish()?)?;
        }
    }
    if p.rows > 0 {
        sink(Table::EmployeePulse, p.finish()?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_one() {
        let sum = |v: &[f64]| v.iter().sum::<f64>();
        assert!((sum(&CHANNELS.map(|c| c.share)) - 1.0).abs() < 1e-9);
        assert!((sum(&PRIORITIES.map(|p| p.1)) - 1.0).abs() < 1e-9);
        assert!((sum(&CATEGORIES.map(|c| c.1)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn span_constants_are_the_documented_dates() {
        // 2021-01-01 is a Friday: day 0 of the epoch (1970-01-01) was a Thursday.
        assert_eq!(START % DAY, 0);
        assert_eq!((END - START) / DAY, 365 * 4 + 1);
        assert_eq!((START / DAY + 4) % 7, 5);
    }
}
