//! The population behind the tables: customers with a hidden difficulty, agents in teams with a morale, and
//! the tickets, surveys and pulse answers of each month, drawn as pure functions of the seed so that months
//! generated in parallel see the same people.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int64Array, Int64Builder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal};

use crate::error::{Error, Result};
use crate::generate::history::{Ticket, ticket_history};
use crate::generate::tables::{
    Messages, Pulse, Servqual, Surveys, Table, TicketEvents, Tickets, agents_schema,
    customers_schema,
};

pub(super) const BATCH: usize = 65_536;
pub(super) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(super) const HOUR: f64 = 3_600.0;
/// 2021-01-01T00:00:00Z and 2025-01-01T00:00:00Z, in seconds.
pub(super) const START: i64 = 1_609_459_200;
pub(super) const END: i64 = 1_735_689_600;
pub(super) const DAY: i64 = 86_400;
/// 2018-01-01T00:00:00Z: the first customers signed up three years before the tickets begin.
pub(super) const SIGNUP_START: i64 = 1_514_764_800;
/// The mean length of a month, seconds.
pub(super) const MONTH: f64 = 30.436_875 * 86_400.0;
/// Customers per file of the partitioned `customers/` folder.
pub(super) const CUSTOMERS_PER_PART: i64 = 1_000_000;

/// (segment, share of customers, median monthly revenue, monthly churn hazard of a customer of average
/// difficulty).
pub(super) const SEGMENTS: [(&str, f64, f64, f64); 3] = [
    ("smb", 0.6, 49.0, 0.013),
    ("mid_market", 0.3, 790.0, 0.0075),
    ("enterprise", 0.1, 7_900.0, 0.0033),
];

/// (team, share of the agents, morale): the teams that handle tickets (see `generate_month`), their size
/// in proportion to their tickets and the morale that moves their agents' eNPS, their tickets' CSAT and
/// their turnover.
pub(super) const TEAMS: [(&str, f64, f64); 4] = [
    ("tier1", 0.46, 0.0),
    ("tier2", 0.09, 0.9),
    ("billing", 0.30, -1.0),
    ("logistics", 0.15, 0.4),
];

pub(super) const DIMENSIONS: [(&str, f64); 5] = [
    ("tangibles", 0.1),
    ("reliability", -0.9),
    ("responsiveness", -0.6),
    ("assurance", -0.2),
    ("empathy", -0.35),
];

/// One channel's behaviour.
pub(super) struct Channel {
    pub(super) name: &'static str,
    pub(super) share: f64,
    /// Mean first response, minutes.
    pub(super) first_response_min: f64,
    /// Probability of resolution at the first contact.
    pub(super) fcr: f64,
    /// NPS and CSAT shift of the channel.
    pub(super) mood: f64,
    pub(super) handle_time_s: f64,
    /// Mean wait in a queue, seconds (0: asynchronous channel).
    pub(super) wait_s: f64,
}

pub(super) const CHANNELS: [Channel; 5] = [
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
pub(super) const PRIORITIES: [(&str, f64, f64); 4] = [
    ("low", 0.35, 60.0),
    ("normal", 0.40, 30.0),
    ("high", 0.20, 12.0),
    ("urgent", 0.05, 4.0),
];

pub(super) const CATEGORIES: [(&str, f64); 5] = [
    ("billing", 0.30),
    ("technical", 0.35),
    ("account", 0.15),
    ("shipping", 0.15),
    ("feedback", 0.05),
];

pub(super) fn pick<'a, T>(
    rng: &mut ChaCha8Rng,
    items: &'a [T],
    share: impl Fn(&T) -> f64,
) -> &'a T {
    let mut u: f64 = rng.random();
    for item in items {
        u -= share(item);
        if u < 0.0 {
            return item;
        }
    }
    &items[items.len() - 1]
}

/// A reproducible stream of numbers from a seed (SplitMix64): cheap enough to recreate a customer from its
/// id every time a ticket considers it.
pub(super) struct Hashed(u64);

impl Hashed {
    pub(super) fn new(seed: u64, salt: u64, id: i64) -> Self {
        let mut h = Hashed(seed ^ salt ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        h.next();
        h
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub(super) fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Exponential with mean 1.
    pub(super) fn exp1(&mut self) -> f64 {
        -(1.0 - self.unit()).ln()
    }
}

/// One customer, recreated from the seed and its id.
#[derive(Debug, Clone, Copy)]
pub(super) struct Customer {
    pub(super) segment: &'static str,
    /// Seconds since the epoch.
    pub(super) signed_up: i64,
    /// Seconds since the epoch; `None`: still a customer at the end of the history.
    pub(super) churned: Option<i64>,
    pub(super) monthly_revenue: f64,
    /// Hidden: how hard this customer's problems are (standard normal). It slows their resolutions, lowers
    /// their answers and raises their churn.
    pub(super) difficulty: f64,
}

impl Customer {
    pub(super) fn of(seed: u64, id: i64) -> Customer {
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
    pub(super) fn active_at(&self, t: i64) -> bool {
        self.signed_up <= t && self.churned.is_none_or(|c| c > t)
    }
}

/// One agent: a seat of a team held from `hired` to `left`.
#[derive(Debug, Clone)]
pub(super) struct Agent {
    pub(super) id: i64,
    pub(super) team: &'static str,
    /// Seconds since the epoch.
    pub(super) hired: i64,
    /// `None`: still in the team at the end of the history.
    pub(super) left: Option<i64>,
    /// The team's morale and the agent's own (eNPS-answer points around the team's).
    pub(super) morale: f64,
}

impl Agent {
    pub(super) fn active_at(&self, t: i64) -> bool {
        self.hired <= t && self.left.is_none_or(|l| l > t)
    }
}

/// Everyone behind the tickets: the number of customers, and the agents of each team's seats.
pub(super) struct People {
    pub(super) seed: u64,
    pub(super) customers: i64,
    /// Ordered by hire date; ids rise with it.
    pub(super) agents: Vec<Agent>,
    /// Per team (in `TEAMS` order), its seats; per seat, the indices into `agents` of who held it, in turn.
    pub(super) seats: Vec<Vec<Vec<usize>>>,
}

impl People {
    /// `customers` customers; agents in seats: one per 200 tickets, 120 to 20,000 seats.
    pub(super) fn new(seed: u64, tickets: u64) -> People {
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
    pub(super) fn customer_at(&self, t: i64, rng: &mut ChaCha8Rng) -> (i64, Customer) {
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
    pub(super) fn agent_at(&self, team: &str, t: i64, rng: &mut ChaCha8Rng) -> Option<&Agent> {
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
pub(super) struct Draws {
    pub(super) normal: Normal<f64>,
    exp1: Exp<f64>,
    pub(super) lognormal: LogNormal<f64>,
}

pub(super) fn clamp_round(v: f64, lo: i32, hi: i32) -> i32 {
    (v.round() as i32).clamp(lo, hi)
}

/// Customers `ids` as batches.
pub(super) fn customer_batches(
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
pub(super) fn agent_batch(people: &People) -> Result<RecordBatch> {
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
pub(super) struct Month {
    pub(super) index: u64,
    pub(super) year: i32,
    pub(super) month: u32,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) first_ticket: i64,
    pub(super) tickets: u64,
}

/// The 48 months of 2021–2024, each with tickets in proportion to its length; ticket ids rise with time.
pub(super) fn months(tickets: u64) -> Vec<Month> {
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

/// Generates one month's tickets (in creation order), their surveys and SERVQUAL responses, and the month's
/// pulse survey of the agents.
pub(super) fn generate_month(
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
    let (mut h, mut g) = (TicketEvents::default(), Messages::default());
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
        let reopened = !open && rng.random_bool(0.04);
        t.reopened.append_value(reopened);
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
        // The history from its own stream: the other tables do not change with it.
        let story = Ticket {
            id: ticket_id,
            customer_id,
            created: created_us,
            first_response,
            resolved,
            reopened,
            agent: agent.map(|a| a.id),
            team,
            priority,
            contacts,
            end: end_us,
        };
        let stream = Hashed::new(people.seed, 0x4157_0000_0000_0031, ticket_id).next();
        ticket_history(
            &story,
            ChaCha8Rng::seed_from_u64(stream),
            &|team, t, rng| people.agent_at(team, t, rng).map(|a| a.id),
            &mut h,
            &mut g,
        );
        if h.rows >= BATCH {
            sink(Table::TicketEvents, h.finish()?)?;
        }
        if g.rows >= BATCH {
            sink(Table::Messages, g.finish()?)?;
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
    if h.rows > 0 {
        sink(Table::TicketEvents, h.finish()?)?;
    }
    if g.rows > 0 {
        sink(Table::Messages, g.finish()?)?;
    }
    pulse_month(m, people, &mut rng, &draws, sink)
}

/// The month's pulse survey: each agent employed during the month answers it with probability 0.75 on a
/// random instant of their time in it, "how likely are you to recommend working here" on 0–10 around their
/// morale; 8% skip the question (NULL).
pub(super) fn pulse_month(
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
