//! Property tests of the history functions against brute force: random ticket histories (ties, reopenings,
//! statuses never counted, unknown statuses, NULLs, events across the 2024 daylight-saving changes and weekends)
//! are aggregated by `status_seconds`, `sla_clock`, `status_at` and `reply_waits` through SQL — rows shuffled,
//! in 1 and 4 partitions, tiny and large batches, partial aggregation skipped or not — and compared with a
//! minute-by-minute walk in plain Rust that shares no code with the functions: the status in force in each
//! minute is looked up among all events, business minutes are found by converting each minute to local time.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Utc};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int64Type, Schema, TimeUnit, TimestampNanosecondType,
};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[path = "common/session.rs"]
mod session;

const MINUTE: i64 = 60;
/// 2024-03-29 00:00 UTC, a Friday two days before the spring daylight-saving change in Europe.
const SPRING: i64 = 1_711_670_400;
/// 2024-10-25 00:00 UTC, a Friday two days before the autumn change.
const AUTUMN: i64 = 1_729_814_400;
const STATUSES: [&str; 8] = [
    "new",
    "open",
    "pending",
    "hold",
    "solved",
    "closed",
    "escalated",
    "waiting",
];
const PARIS: &str =
    "time_zone=Europe/Paris; hours=Mon-Fri 09:00-12:00 13:00-17:00; holidays=2024-04-01";

/// One status event; `at` in seconds (whole minutes), NULLs as the data may have them.
#[derive(Debug, Clone)]
struct Event {
    ticket: i64,
    at: Option<i64>,
    status: Option<&'static str>,
}

/// One message.
#[derive(Debug, Clone)]
struct Message {
    ticket: i64,
    at: Option<i64>,
    role: Option<&'static str>,
    public: Option<bool>,
    author: Option<i64>,
}

/// Per ticket: `until` (None = default), the target in minutes, the instant for status_at.
#[derive(Debug, Clone)]
struct Ask {
    until: Option<i64>,
    target_minutes: i64,
    instant: i64,
}

fn histories(seed: u64, tickets: i64) -> (Vec<Event>, Vec<Message>, BTreeMap<i64, Ask>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut events, mut messages, mut asks) = (Vec::new(), Vec::new(), BTreeMap::new());
    for ticket in 0..tickets {
        let base = if rng.random_bool(0.5) { SPRING } else { AUTUMN };
        let start = base + rng.random_range(0..4 * 24 * 60) * MINUTE;
        let mut at = start;
        let n = rng.random_range(1..9);
        for i in 0..n {
            // First a `new`, then random statuses (reopenings: solved then open again); ties now and then.
            let status = if i == 0 {
                "new"
            } else {
                STATUSES[rng.random_range(0..STATUSES.len())]
            };
            let (at_v, status_v) = match rng.random_range(0..40) {
                0 => (None, Some(status)),
                1 => (Some(at), None),
                _ => (Some(at), Some(status)),
            };
            events.push(Event {
                ticket,
                at: at_v,
                status: status_v,
            });
            if !rng.random_bool(0.2) {
                at += rng.random_range(1..3 * 24 * 60) * MINUTE;
            }
        }
        let mut sent = start;
        for _ in 0..rng.random_range(0..8) {
            let role = ["customer", "customer", "agent", "agent", "system"][rng.random_range(0..5)];
            let public = rng.random_bool(0.8);
            messages.push(Message {
                ticket,
                at: (!rng.random_bool(0.03)).then_some(sent),
                role: (!rng.random_bool(0.03)).then_some(role),
                public: (!rng.random_bool(0.03)).then_some(public),
                author: (!rng.random_bool(0.1)).then(|| rng.random_range(1..5)),
            });
            if !rng.random_bool(0.25) {
                sent += rng.random_range(1..2 * 24 * 60) * MINUTE;
            }
        }
        let until = match rng.random_range(0..3) {
            0 => None,
            _ => Some(start + rng.random_range(-60..5 * 24 * 60) * MINUTE),
        };
        asks.insert(
            ticket,
            Ask {
                until,
                target_minutes: rng.random_range(1..3000),
                instant: start + rng.random_range(-60..5 * 24 * 60) * MINUTE,
            },
        );
    }
    (events, messages, asks)
}

fn rank(status: &str) -> usize {
    STATUSES
        .iter()
        .position(|s| *s == status)
        .unwrap_or(usize::MAX)
}

/// The status in force at `t` (seconds): of the events at or before `t`, the latest, ties by rank.
fn in_force(events: &[(i64, &'static str)], t: i64) -> Option<&'static str> {
    events
        .iter()
        .filter(|(at, _)| *at <= t)
        .max_by_key(|(at, s)| (*at, rank(s)))
        .map(|(_, s)| *s)
}

/// Whether the minute starting at `t` is inside the Paris calendar's hours (converted minute by minute).
fn paris_business(t: i64) -> bool {
    let tz: Tz = "Europe/Paris".parse().expect("zone");
    let local = Utc
        .timestamp_opt(t, 0)
        .single()
        .expect("instant")
        .with_timezone(&tz);
    let minutes = local.hour() * 60 + local.minute();
    let holiday = local.date_naive() == NaiveDate::from_ymd_opt(2024, 4, 1).expect("date");
    local.weekday().num_days_from_monday() < 5
        && !holiday
        && ((9 * 60..12 * 60).contains(&minutes) || (13 * 60..17 * 60).contains(&minutes))
}

/// Brute force clock of one ticket: (elapsed seconds, breach_at seconds, breached), None without events by
/// `until`.
fn brute_clock(
    events: &[(i64, &'static str)],
    counted: &[&str],
    until: Option<i64>,
    target_minutes: i64,
    business: bool,
) -> Option<(f64, Option<i64>, bool)> {
    let kept: Vec<(i64, &'static str)> = events
        .iter()
        .copied()
        .filter(|(at, _)| until.is_none_or(|u| *at <= u))
        .collect();
    let first = kept.iter().map(|e| e.0).min()?;
    let end = until.unwrap_or_else(|| kept.iter().map(|e| e.0).max().unwrap_or(first));
    let runs = |t: i64| {
        in_force(&kept, t.min(end)).is_some_and(|s| counted.contains(&s))
            && (!business || paris_business(t))
    };
    let (mut elapsed, mut breach) = (0i64, None);
    let mut t = first;
    while t < end {
        if runs(t) {
            elapsed += MINUTE;
            if breach.is_none() && elapsed == target_minutes * MINUTE {
                breach = Some(t + MINUTE);
            }
        }
        t += MINUTE;
    }
    // The prediction: on with the status in force at `end`, if counted (bounded: 60 days).
    let mut counted_on = elapsed;
    if breach.is_none() && in_force(&kept, end).is_some_and(|s| counted.contains(&s)) {
        while t < end + 60 * 24 * 60 * MINUTE {
            if runs(t) {
                counted_on += MINUTE;
                if counted_on == target_minutes * MINUTE {
                    breach = Some(t + MINUTE);
                    break;
                }
            }
            t += MINUTE;
        }
    }
    Some((elapsed as f64, breach, breach.is_some_and(|b| b <= end)))
}

/// One wait: asked at, replied at, seconds, replier.
type Wait = (i64, Option<i64>, Option<f64>, Option<i64>);

/// Brute force waits of one ticket: a customer message opens a wait when it is the first counted message or
/// a public agent message lies between it and the previous customer message; the wait ends at the next public
/// agent message. Returns (asked, replied, seconds, replier).
fn brute_waits(messages: &[Message], business: bool) -> Vec<Wait> {
    let mut ms: Vec<(i64, bool, Option<i64>)> = messages
        .iter()
        .filter_map(|m| {
            let (at, role, public) = (m.at?, m.role?, m.public?);
            (public && role != "system").then_some((at, role == "agent", m.author))
        })
        .collect();
    ms.sort_by_key(|&(at, agent, author)| (at, agent, author.is_none(), author.unwrap_or(0)));
    let mut out = Vec::new();
    for (i, &(at, agent, _)) in ms.iter().enumerate() {
        if agent {
            continue;
        }
        let previous_customer = ms[..i].iter().rposition(|m| !m.1);
        let opens = match previous_customer {
            None => true,
            Some(p) => ms[p + 1..i].iter().any(|m| m.1),
        };
        if !opens {
            continue;
        }
        match ms[i + 1..].iter().find(|m| m.1) {
            Some(&(replied, _, replier)) => {
                let seconds = if business {
                    (at..replied)
                        .step_by(MINUTE as usize)
                        .filter(|&t| paris_business(t))
                        .count() as i64
                        * MINUTE
                } else {
                    replied - at
                };
                out.push((at, Some(replied), Some(seconds as f64), replier));
            }
            None => out.push((at, None, None, None)),
        }
    }
    out
}

fn micros(v: Option<i64>) -> Option<i64> {
    v.map(|s| s * 1_000_000)
}

async fn context(
    events: &[Event],
    messages: &[Message],
    asks: &BTreeMap<i64, Ask>,
    partitions: usize,
    batch_size: usize,
    skip_partial: bool,
    seed: u64,
) -> SessionContext {
    let ctx = session::context(partitions, batch_size, skip_partial);
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xabc);
    let mut events = events.to_vec();
    events.shuffle(&mut rng);
    let mut messages = messages.to_vec();
    messages.shuffle(&mut rng);
    let event_schema = Arc::new(Schema::new(vec![
        Field::new("ticket_id", DataType::Int64, false),
        Field::new("at", ts(), true),
        Field::new("status", DataType::Utf8, true),
        Field::new("until", ts(), true),
        Field::new("target_minutes", DataType::Int64, false),
        Field::new("instant", ts(), false),
    ]));
    let event_batch = |rows: &[Event]| -> RecordBatch {
        let ask = |e: &Event| &asks[&e.ticket];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|e| e.ticket))),
            Arc::new(
                TimestampMicrosecondArray::from(
                    rows.iter().map(|e| micros(e.at)).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from(
                rows.iter().map(|e| e.status).collect::<Vec<_>>(),
            )),
            Arc::new(
                TimestampMicrosecondArray::from(
                    rows.iter()
                        .map(|e| micros(ask(e).until))
                        .collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|e| ask(e).target_minutes),
            )),
            Arc::new(
                TimestampMicrosecondArray::from(
                    rows.iter()
                        .map(|e| Some(ask(e).instant * 1_000_000))
                        .collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
        ];
        RecordBatch::try_new(Arc::clone(&event_schema), columns).expect("batch")
    };
    let message_schema = Arc::new(Schema::new(vec![
        Field::new("ticket_id", DataType::Int64, false),
        Field::new("sent_at", ts(), true),
        Field::new("author_role", DataType::Utf8, true),
        Field::new("public", DataType::Boolean, true),
        Field::new("author_id", DataType::Int64, true),
    ]));
    let message_batch = |rows: &[Message]| -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|m| m.ticket))),
            Arc::new(
                TimestampMicrosecondArray::from(
                    rows.iter().map(|m| micros(m.at)).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from(
                rows.iter().map(|m| m.role).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                rows.iter().map(|m| m.public).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|m| m.author).collect::<Vec<_>>(),
            )),
        ];
        RecordBatch::try_new(Arc::clone(&message_schema), columns).expect("batch")
    };
    // Split into `partitions` partitions of uneven batches.
    let split = |n: usize| -> Vec<Vec<std::ops::Range<usize>>> {
        let mut parts = vec![Vec::new(); partitions];
        let mut start = 0;
        let mut k = 0;
        while start < n {
            let len = 1 + (start * 7 + k * 13) % 37;
            let end = (start + len).min(n);
            parts[k % partitions].push(start..end);
            start = end;
            k += 1;
        }
        parts
    };
    let event_parts = split(events.len())
        .into_iter()
        .map(|p| p.into_iter().map(|r| event_batch(&events[r])).collect())
        .collect();
    let message_parts = split(messages.len())
        .into_iter()
        .map(|p| p.into_iter().map(|r| message_batch(&messages[r])).collect())
        .collect();
    ctx.register_table(
        "events",
        Arc::new(MemTable::try_new(event_schema.clone(), event_parts).expect("table")),
    )
    .expect("register");
    ctx.register_table(
        "messages",
        Arc::new(MemTable::try_new(message_schema.clone(), message_parts).expect("table")),
    )
    .expect("register");
    ctx
}

async fn collect(ctx: &SessionContext, sql: &str) -> RecordBatch {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let schema = batches[0].schema();
    datafusion::arrow::compute::concat_batches(&schema, &batches).expect("concat")
}

fn f64_at(a: &ArrayRef, row: usize) -> Option<f64> {
    let a = a.as_primitive::<Float64Type>();
    a.is_valid(row).then(|| a.value(row))
}

fn seconds_at(a: &ArrayRef, row: usize) -> Option<i64> {
    let a = a.as_primitive::<TimestampNanosecondType>();
    a.is_valid(row).then(|| {
        assert_eq!(a.value(row) % 1_000_000_000, 0, "whole seconds");
        a.value(row) / 1_000_000_000
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_functions_equal_a_minute_by_minute_walk() {
    let mut checked = 0;
    for seed in 0..6u64 {
        let (events, messages, asks) = histories(seed, 60);
        let mut by_ticket: BTreeMap<i64, Vec<(i64, &'static str)>> = BTreeMap::new();
        for e in &events {
            by_ticket.entry(e.ticket).or_default();
            if let (Some(at), Some(s)) = (e.at, e.status) {
                by_ticket.entry(e.ticket).or_default().push((at, s));
            }
        }
        let (partitions, batch, skip) =
            [(1, 8192, false), (4, 3, false), (3, 5, true)][seed as usize % 3];
        let ctx = context(&events, &messages, &asks, partitions, batch, skip, seed).await;
        let sql = format!(
            "SELECT ticket_id,
               status_seconds(at, status, ['new', 'open']) AS work,
               status_seconds(at, status, 'pending', until) AS pending_until,
               status_seconds(at, status, ['new', 'open', 'hold'], until, '{PARIS}') AS wait_business,
               sla_clock(at, status, ['new', 'open'], target_minutes * 60.0, until) AS sla,
               sla_clock(at, status, ['new', 'open', 'hold'], target_minutes * 60, until, '{PARIS}') AS sla_business,
               status_at(at, status, instant) AS then,
               status_durations(at, status) AS durations,
               status_durations(at, status, until, '{PARIS}') AS durations_business
             FROM events GROUP BY ticket_id ORDER BY ticket_id"
        );
        let result = collect(&ctx, &sql).await;
        let ids = result.column(0).as_primitive::<Int64Type>();
        assert_eq!(result.num_rows(), by_ticket.len());
        for row in 0..result.num_rows() {
            let ticket = ids.value(row);
            let ev = &by_ticket[&ticket];
            let ask = &asks[&ticket];
            let context = format!("seed {seed} ticket {ticket} events {ev:?} ask {ask:?}");
            let work = brute_clock(ev, &["new", "open"], None, 1, false);
            assert_eq!(
                f64_at(result.column(1), row),
                work.map(|w| w.0),
                "work: {context}"
            );
            let pending = brute_clock(ev, &["pending"], ask.until, 1, false);
            assert_eq!(
                f64_at(result.column(2), row),
                pending.map(|w| w.0),
                "pending: {context}"
            );
            let wait = brute_clock(ev, &["new", "open", "hold"], ask.until, 1, true);
            assert_eq!(
                f64_at(result.column(3), row),
                wait.map(|w| w.0),
                "business: {context}"
            );
            for (column, counted, business) in [
                (4, &["new", "open"][..], false),
                (5, &["new", "open", "hold"][..], true),
            ] {
                let expected = brute_clock(ev, counted, ask.until, ask.target_minutes, business);
                let sla = result.column(column).as_struct();
                if sla.is_null(row) {
                    assert_eq!(expected, None, "sla {column}: {context}");
                    continue;
                }
                let got = (
                    f64_at(sla.column(0), row).expect("elapsed"),
                    seconds_at(sla.column(1), row),
                    sla.column(2).as_boolean().value(row),
                );
                assert_eq!(Some(got), expected, "sla {column}: {context}");
            }
            let then = result.column(6).as_string::<i32>();
            let expected = in_force(ev, ask.instant);
            assert_eq!(
                then.is_valid(row).then(|| then.value(row)),
                expected,
                "status_at: {context}"
            );
            // status_durations: every status the ticket was in by `until`, in tie order, each with what the
            // walk counts for it alone.
            for (column, until, business) in [(7, None, false), (8, ask.until, true)] {
                let map = result.column(column).as_map();
                let mut statuses: Vec<&str> = ev
                    .iter()
                    .filter(|(at, _)| until.is_none_or(|u| *at <= u))
                    .map(|(_, s)| *s)
                    .collect();
                statuses.sort_by_key(|s| (rank(s), *s));
                statuses.dedup();
                if statuses.is_empty() {
                    assert!(map.is_null(row), "durations {column}: {context}");
                    continue;
                }
                let expected: Vec<(String, f64)> = statuses
                    .iter()
                    .map(|s| {
                        let (seconds, _, _) =
                            brute_clock(ev, &[s], until, 1, business).expect("events");
                        (s.to_string(), seconds)
                    })
                    .collect();
                let entries = map.value(row);
                let keys = entries.column(0).as_string::<i32>();
                let got: Vec<(String, f64)> = (0..entries.len())
                    .map(|i| {
                        (
                            keys.value(i).to_string(),
                            f64_at(entries.column(1), i).expect("seconds"),
                        )
                    })
                    .collect();
                assert_eq!(got, expected, "durations {column}: {context}");
            }
            checked += 1;
        }

        let sql = "SELECT ticket_id, reply_waits(sent_at, author_role, public, author_id) AS clock,
                     reply_waits(sent_at, author_role, public, author_id, '"
            .to_string()
            + PARIS
            + "') AS business FROM messages GROUP BY ticket_id ORDER BY ticket_id";
        let result = collect(&ctx, &sql).await;
        let ids = result.column(0).as_primitive::<Int64Type>();
        let mut by_ticket: BTreeMap<i64, Vec<Message>> = BTreeMap::new();
        for m in &messages {
            by_ticket.entry(m.ticket).or_default().push(m.clone());
        }
        assert_eq!(result.num_rows(), by_ticket.len());
        for row in 0..result.num_rows() {
            let ticket = ids.value(row);
            let ms = &by_ticket[&ticket];
            let any_counted = ms
                .iter()
                .any(|m| m.at.is_some() && m.role.is_some() && m.public.is_some());
            for (column, business) in [(1, false), (2, true)] {
                let list = result.column(column).as_list::<i32>();
                if !any_counted {
                    assert!(
                        list.is_null(row),
                        "seed {seed} ticket {ticket}: NULL without rows"
                    );
                    continue;
                }
                let waits = list.value(row);
                let waits = waits.as_struct();
                let got: Vec<_> = (0..waits.len())
                    .map(|i| {
                        (
                            seconds_at(waits.column(0), i).expect("asked"),
                            seconds_at(waits.column(1), i),
                            f64_at(waits.column(2), i),
                            {
                                let r = waits.column(3).as_primitive::<Int64Type>();
                                r.is_valid(i).then(|| r.value(i))
                            },
                        )
                    })
                    .collect();
                assert_eq!(
                    got,
                    brute_waits(ms, business),
                    "seed {seed} ticket {ticket} business {business}: {ms:?}"
                );
            }
        }
    }
    assert!(checked >= 300, "{checked}");
}
