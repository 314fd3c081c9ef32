//! A ticket's history: its field changes (`ticket_events`, an audit log) and its messages (`messages`), drawn
//! from the ticket's row so that the two agree with it — the first public agent message is `first_response_at`,
//! the last change to `solved` is `resolved_at` (and there are two solves when `reopened`), the last assignee
//! is `agent_id`, the last team and priority are the row's. The draws come from a stream of the seed and the
//! ticket id alone, so the tickets, surveys and the rest are the same rows as without the history.
//!
//! The story of an answered ticket: created `new` with a customer message (priority and team set, sometimes a
//! lower priority escalated later, sometimes another team that hands it over), follow-ups before the first
//! reply, assigned and `open`, first reply; then exchanges — the agent asks (`pending`, waiting on the
//! customer for hours to days), the customer answers (`open`), the agent replies — private notes, now and then
//! a `hold` on a third party, a solve the customer reopens, the final solve at `resolved_at` and the automatic
//! `closed` four days later; an unanswered ticket stays `new`. Instants are UTC and fall on any day and hour,
//! across weekends and daylight-saving changes of the business calendars.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::generate::tables::{Messages, TicketEvents};

const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SECOND;
/// Solved tickets close automatically this long after the solve.
const CLOSE_AFTER: i64 = 96 * HOUR;
const PRIORITY_ORDER: [&str; 4] = ["low", "normal", "high", "urgent"];

/// What the ticket's row says, in microseconds.
pub(super) struct Ticket<'a> {
    pub(super) id: i64,
    pub(super) customer_id: i64,
    pub(super) created: i64,
    pub(super) first_response: Option<i64>,
    pub(super) resolved: Option<i64>,
    pub(super) reopened: bool,
    pub(super) agent: Option<i64>,
    pub(super) team: &'a str,
    pub(super) priority: &'static str,
    pub(super) contacts: Option<i32>,
    /// The end of the generated history: nothing happens at or after it.
    pub(super) end: i64,
}

/// The value of a field change.
enum Value<'a> {
    Text(&'a str),
    Id(Option<i64>),
}

/// One field change: instant, field, value (NULL = cleared), actor.
type Change = (i64, &'static str, Option<String>, Option<i64>);
/// One message: instant, author, role, public.
type Message = (i64, Option<i64>, &'static str, bool);

/// The rows of one ticket, written out in time order by [`Story::write`].
#[derive(Default)]
struct Story {
    changes: Vec<Change>,
    messages: Vec<Message>,
    status: &'static str,
}

impl Story {
    fn change(&mut self, at: i64, field: &'static str, value: Value<'_>, actor: Option<i64>) {
        let value = match value {
            Value::Text(v) => Some(v.to_string()),
            Value::Id(id) => id.map(|id| id.to_string()),
        };
        self.changes.push((at, field, value, actor));
    }

    /// A status change; nothing when the status is already that one (an audit log records changes).
    fn status(&mut self, at: i64, status: &'static str, actor: Option<i64>) {
        if self.status != status {
            self.status = status;
            self.change(at, "status", Value::Text(status), actor);
        }
    }

    fn message(&mut self, at: i64, author: Option<i64>, role: &'static str, public: bool) {
        self.messages.push((at, author, role, public));
    }

    /// Appends the rows sorted by time (a stable sort: what happens at one instant keeps its order).
    fn write(mut self, ticket: i64, events: &mut TicketEvents, messages: &mut Messages) {
        self.changes.sort_by_key(|c| c.0);
        self.messages.sort_by_key(|m| m.0);
        for (at, field, value, actor) in self.changes {
            events.ticket_id.append_value(ticket);
            events.field.append_value(field);
            events.value.append_option(value);
            events.at.append_value(at);
            events.actor_id.append_option(actor);
            events.rows += 1;
        }
        for (at, author, role, public) in self.messages {
            messages.ticket_id.append_value(ticket);
            messages.sent_at.append_value(at);
            messages.author_id.append_option(author);
            messages.author_role.append_value(role);
            messages.public.append_value(public);
            messages.rows += 1;
        }
    }
}

/// What happens after the first reply, in order; each takes one instant of the time before the resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// The customer writes; a pending ticket opens again.
    Customer,
    /// The agent replies; `ask` leaves it pending on the customer.
    Agent {
        ask: bool,
    },
    /// The ticket moves to its final team and agent, with a private handover note.
    Handoff,
    /// The priority is raised to the final one.
    Escalate,
    /// Waiting on a third party, then back.
    Hold,
    Unhold,
    /// A solve the customer reopens (the exchange after it are `Customer`, `Agent`).
    Solve,
}

/// Who works in a team at an instant: an agent id drawn with the stream given (the population's lookup).
pub(super) type AgentAt<'a> = dyn Fn(&str, i64, &mut ChaCha8Rng) -> Option<i64> + 'a;

/// Appends the history of `t`, drawn from `rng` (a stream of the ticket's own), to `events` and `messages`.
pub(super) fn ticket_history(
    t: &Ticket,
    mut rng: ChaCha8Rng,
    agent_at: &AgentAt,
    events: &mut TicketEvents,
    messages: &mut Messages,
) {
    let mut story = Story::default();
    tell(t, &mut rng, agent_at, &mut story);
    story.write(t.id, events, messages);
}

/// The story of `t`.
fn tell(t: &Ticket, rng: &mut ChaCha8Rng, agent_at: &AgentAt, story: &mut Story) {
    let c = t.created;
    // Whether the time between the first reply and the end leaves room for a story (a second per step).
    let last = t
        .resolved
        .unwrap_or_else(|| {
            let fr = t.first_response.unwrap_or(c);
            let lasts = (rng.random::<f64>() * 72.0 * HOUR as f64) as i64;
            (fr + lasts).min(t.end - SECOND)
        })
        .max(c);
    let room = t.first_response.map_or(0, |fr| (last - fr) / SECOND);
    let answered = t.first_response.is_some();
    let escalated = answered && t.priority != "low" && rng.random_bool(0.08);
    let handoff_share = match t.team {
        "tier2" => 0.4,
        "billing" | "logistics" => 0.15,
        _ => 0.05,
    };
    let handoff = answered && t.agent.is_some() && rng.random_bool(handoff_share);
    let first_priority = if escalated {
        let i = PRIORITY_ORDER
            .iter()
            .position(|p| *p == t.priority)
            .unwrap_or(1);
        PRIORITY_ORDER[i.saturating_sub(1)]
    } else {
        t.priority
    };
    let first_team = match (handoff, t.team) {
        (false, team) => team,
        (true, "tier1") => "billing",
        (true, _) => "tier1",
    };

    story.status(c, "new", None);
    story.change(c, "priority", Value::Text(first_priority), None);
    story.change(c, "team", Value::Text(first_team), None);
    story.message(c, Some(t.customer_id), "customer", true);

    let Some(fr) = t.first_response else {
        // Never answered: the customer may write again.
        let mut at = c;
        while rng.random_bool(0.3) {
            at += (rng.random::<f64>() * 24.0 * HOUR as f64) as i64 + SECOND;
            if at >= t.end {
                break;
            }
            story.message(at, Some(t.customer_id), "customer", true);
        }
        return;
    };
    // Follow-ups of the customer before the first reply.
    let mut follow_ups = Vec::new();
    for _ in 0..rng.random_range(0..3usize) {
        let at = c + ((fr - c) as f64 * rng.random::<f64>()) as i64;
        if rng.random_bool(0.5) && at > c && at < fr {
            follow_ups.push(at);
        }
    }
    follow_ups.sort_unstable();
    follow_ups.dedup();
    for at in follow_ups {
        story.message(at, Some(t.customer_id), "customer", true);
    }
    // Assigned (to the first team's agent when handed off later) and opened before the first reply.
    let first_agent = if handoff {
        agent_at(first_team, c, rng)
    } else {
        t.agent
    };
    // Who answers an unassigned ticket: an agent of its team, not assigned.
    let replier = match t.agent {
        Some(_) => first_agent,
        None => agent_at(t.team, c, rng),
    };
    let assigned = c + ((fr - c) as f64 * rng.random_range(0.1..0.9)) as i64;
    if t.agent.is_some() && first_agent.is_some() {
        story.change(assigned, "assignee_id", Value::Id(first_agent), None);
    }
    story.status(assigned, "open", replier);
    if rng.random_bool(0.25) && fr > assigned + 1 {
        let note = assigned + ((fr - assigned) as f64 * rng.random::<f64>()) as i64;
        story.message(note.max(assigned + 1), replier, "agent", false);
    }
    story.message(fr, replier, "agent", true);

    // The steps after the first reply.
    let exchanges = match t.contacts {
        Some(contacts) => (contacts - 1).clamp(0, 3) as usize + usize::from(rng.random_bool(0.3)),
        None => rng.random_range(0..3usize),
    };
    let exchanges = if room > 40 { exchanges } else { 0 };
    let mut steps = Vec::new();
    for i in 0..exchanges {
        steps.push(Step::Customer);
        steps.push(Step::Agent {
            ask: i + 1 < exchanges && rng.random_bool(0.6),
        });
    }
    if escalated {
        let at = rng.random_range(0..=steps.len().min(2));
        steps.insert(at, Step::Escalate);
    }
    if handoff {
        let at = rng.random_range(0..=steps.len());
        steps.insert(at, Step::Handoff);
    }
    if room > 40 && rng.random_bool(0.08) {
        let at = rng.random_range(0..=steps.len());
        steps.splice(at..at, [Step::Hold, Step::Unhold]);
    }
    if t.reopened {
        steps.extend([Step::Solve, Step::Customer, Step::Agent { ask: false }]);
    }
    // The agent asks with the first reply when the customer answers it, often enough when not.
    if rng.random_bool(if exchanges > 0 { 0.7 } else { 0.4 }) {
        story.status(fr, "pending", replier);
    }
    // One instant per step, strictly inside (fr, last), a second apart (less when the time is that short):
    // sorted draws in what is left once the gaps are set aside, each then moved by the gaps before it.
    let n = steps.len() as i64;
    let gap = SECOND.min((last - fr) / (n + 2)).max(0);
    let free = (last - fr - (n + 1) * gap).max(0);
    let mut draws: Vec<i64> = steps
        .iter()
        .map(|_| (free as f64 * rng.random::<f64>()) as i64)
        .collect();
    draws.sort_unstable();
    let instants: Vec<i64> = draws
        .iter()
        .zip(1..)
        .map(|(&d, i)| fr + d + i * gap)
        .collect();
    let mut agent = replier;
    for (&step, &at) in steps.iter().zip(&instants) {
        match step {
            Step::Customer => {
                story.message(at, Some(t.customer_id), "customer", true);
                story.status(at, "open", None);
            }
            Step::Agent { ask } => {
                story.message(at, agent, "agent", true);
                if ask {
                    story.status(at, "pending", agent);
                }
            }
            Step::Handoff => {
                story.message(at, agent, "agent", false);
                story.change(at, "team", Value::Text(t.team), agent);
                story.change(at, "assignee_id", Value::Id(t.agent), agent);
                agent = t.agent;
            }
            Step::Escalate => story.change(at, "priority", Value::Text(t.priority), agent),
            Step::Hold => story.status(at, "hold", agent),
            Step::Unhold => story.status(at, "open", agent),
            Step::Solve => {
                story.message(at, agent, "agent", true);
                story.status(at, "solved", agent);
            }
        }
    }
    let Some(resolved) = t.resolved else {
        return;
    };
    // A ticket the first reply settled is solved without another message (one touch); after an exchange
    // the agent writes with the solve.
    if steps
        .iter()
        .any(|s| matches!(s, Step::Customer | Step::Agent { .. } | Step::Solve))
    {
        story.message(resolved, agent, "agent", true);
    }
    story.status(resolved, "solved", agent);
    if rng.random_bool(0.5) && resolved + HOUR < t.end {
        // The satisfaction survey request: public, from the system.
        story.message(resolved + HOUR, None, "system", true);
    }
    if resolved + CLOSE_AFTER < t.end {
        story.status(resolved + CLOSE_AFTER, "closed", None);
    }
}
