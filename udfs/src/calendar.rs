//! Business calendars: a time zone, weekly opening hours and holidays, and the business time between instants.
//!
//! A calendar turns every local day from 1900-01-01 to 2199-12-31 into its business intervals as UTC instants
//! (09:00 local on a spring-forward day is converted with that day's offset, so daylight-saving changes are
//! exact) and keeps a running total of business time at the start of each day. The business time before an
//! instant t is then that total for the local day two days before t's UTC day plus the overlap of t with
//! three days' intervals: O(1) per value, no time-zone lookup per row.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use datafusion::arrow::array::timezone::Tz;
use datafusion::common::{DataFusionError, Result, exec_err};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;
const SECONDS_PER_DAY: u32 = 86_400;
/// The calendar covers local days from this date...
const FIRST_DAY: (i32, u32, u32) = (1900, 1, 1);
/// ... to the day before this one.
const END_DAY: (i32, u32, u32) = (2200, 1, 1);
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Weekly hours, time zone and holidays.
#[derive(Debug)]
pub struct Calendar {
    /// As the user wrote it, for messages.
    time_zone: String,
    tz: Tz,
    /// Per weekday (Monday first): opening intervals in seconds from local midnight, [open, close).
    weekly: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
    table: OnceLock<DayTable>,
}

/// Every covered UTC day's business intervals (UTC nanoseconds, cut at the UTC midnights) and the business time
/// before it: an instant's business time is one lookup by its UTC day plus the (usually one) interval of that
/// day it may be in.
#[derive(Debug)]
struct DayTable {
    /// Days since the epoch of the first covered UTC day.
    first_day: i64,
    /// Day `i`'s intervals are `spans[offsets[i]..offsets[i + 1]]` (len = days + 1).
    offsets: Vec<u32>,
    spans: Vec<(i64, i64)>,
    /// Business seconds before day `i`'s midnight (len = days); boundaries are whole seconds, and 300 years of
    /// nanoseconds would not fit in an i64.
    before: Vec<i64>,
}

fn date((y, m, d): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

impl Calendar {
    /// Mon–Fri 09:00–17:00 UTC, no holidays.
    pub fn default_hours() -> Self {
        Self::new("UTC", &["Mon-Fri 09:00-17:00"], &[]).unwrap_or_else(|_| unreachable!())
    }

    /// A calendar from a time zone (IANA name such as `Europe/Paris`, or an offset such as `+05:30`), weekly
    /// hours (`Mon-Fri 09:00-17:00`, `Sat 10:00-14:00`, `Mon-Sun 00:00-24:00`; several intervals per rule
    /// allowed: `Mon-Fri 09:00-12:00 13:00-17:00`) and holidays (`2024-12-25`).
    pub fn new(time_zone: &str, hours: &[&str], holidays: &[&str]) -> Result<Self> {
        let tz = Tz::from_str(time_zone.trim()).map_err(|_| {
            DataFusionError::Execution(format!(
                "unknown time zone '{time_zone}'; expected an IANA name such as 'Europe/Paris' or an \
                 offset such as '+05:30'"
            ))
        })?;
        let mut weekly: [Vec<(u32, u32)>; 7] = Default::default();
        for rule in hours {
            parse_rule(rule, &mut weekly)?;
        }
        for day in &mut weekly {
            day.sort_unstable();
            if let Some(w) = day.windows(2).find(|w| w[0].1 > w[1].0) {
                return exec_err!(
                    "opening hours {} and {} overlap",
                    show_interval(w[0]),
                    show_interval(w[1])
                );
            }
        }
        let holidays = holidays
            .iter()
            .flat_map(|h| h.split([',', ' ']))
            .filter(|h| !h.trim().is_empty())
            .map(|h| {
                NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d").map_err(|_| {
                    DataFusionError::Execution(format!(
                        "holiday '{h}' is not a date; expected YYYY-MM-DD"
                    ))
                })
            })
            .collect::<Result<BTreeSet<_>>>()?;
        Ok(Self {
            time_zone: time_zone.trim().to_string(),
            tz,
            weekly,
            holidays,
            table: OnceLock::new(),
        })
    }

    /// A calendar written inline: `time_zone=Europe/Paris; hours=Mon-Fri 09:00-17:00, Sat 10:00-12:00;
    /// holidays=2024-12-25 2024-12-26` (each part optional: UTC, Mon–Fri 09:00–17:00 and none by default).
    pub fn parse(spec: &str) -> Result<Self> {
        let (mut tz, mut hours, mut holidays) = ("UTC", None, Vec::new());
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return exec_err!(
                    "'{part}' is not key=value; expected time_zone=..., hours=..., holidays=..."
                );
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "time_zone" | "tz" | "timezone" => tz = value.trim(),
                // `hours=` with nothing after it is a calendar that is never open.
                "hours" => {
                    hours = Some(
                        value
                            .split(',')
                            .filter(|rule| !rule.trim().is_empty())
                            .collect::<Vec<_>>(),
                    )
                }
                "holidays" => holidays.push(value),
                other => {
                    return exec_err!(
                        "unknown key '{other}'; expected time_zone, hours or holidays"
                    );
                }
            }
        }
        let hours = hours.unwrap_or_else(|| vec!["Mon-Fri 09:00-17:00"]);
        Self::new(tz, &hours, &holidays)
    }

    /// The time zone as written.
    pub fn time_zone(&self) -> &str {
        &self.time_zone
    }

    /// The calendar written inline, as [`Calendar::parse`] reads it back: the same time zone, weekly hours
    /// and holidays (how a calendar travels to another process, e.g. a cluster's executors).
    pub fn spec(&self) -> String {
        let hours: Vec<String> = WEEKDAYS
            .iter()
            .zip(&self.weekly)
            .filter(|(_, intervals)| !intervals.is_empty())
            .map(|(day, intervals)| {
                let spans: Vec<String> = intervals.iter().map(|&i| show_interval(i)).collect();
                format!("{day} {}", spans.join(" "))
            })
            .collect();
        let holidays: Vec<String> = self.holidays.iter().map(|d| d.to_string()).collect();
        let mut spec = format!("time_zone={}; hours={}", self.time_zone, hours.join(", "));
        if !holidays.is_empty() {
            spec.push_str(&format!("; holidays={}", holidays.join(" ")));
        }
        spec
    }

    fn table(&self) -> &DayTable {
        self.table.get_or_init(|| self.build())
    }

    /// The UTC instant (ns) of local `time` seconds after midnight of `day`; a local time skipped by a
    /// daylight-saving change maps to the instant the clocks jumped (the first valid local time after it).
    fn instant(&self, day: NaiveDate, seconds: u32) -> i64 {
        let local = |s: u32| -> NaiveDateTime {
            let (d, s) = if s >= SECONDS_PER_DAY {
                (day + Duration::days(1), s - SECONDS_PER_DAY)
            } else {
                (day, s)
            };
            d.and_time(NaiveTime::from_num_seconds_from_midnight_opt(s, 0).unwrap_or_default())
        };
        let mut s = seconds;
        loop {
            match self.tz.from_local_datetime(&local(s)) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    let utc = t.naive_utc().and_utc();
                    return utc.timestamp() * NANOS_PER_SECOND;
                }
                // In a gap: move forward a minute at a time to its end (gaps are whole minutes in tzdata).
                LocalResult::None => s += 60,
            }
        }
    }

    fn build(&self) -> DayTable {
        let (first, end) = (date(FIRST_DAY), date(END_DAY));
        let days = usize::try_from((end - first).num_days()).unwrap_or(0);
        let mut offsets = Vec::with_capacity(days + 1);
        let mut spans = Vec::new();
        let mut before = Vec::with_capacity(days + 1);
        let mut total = 0i64;
        let mut day = first;
        offsets.push(0);
        before.push(0);
        for _ in 0..days {
            if !self.holidays.contains(&day) {
                let weekday = day.weekday().num_days_from_monday() as usize;
                for &(open, close) in &self.weekly[weekday] {
                    let (from, to) = (self.instant(day, open), self.instant(day, close));
                    if to > from {
                        spans.push((from, to));
                        total += (to - from) / NANOS_PER_SECOND;
                    }
                }
            }
            offsets.push(u32::try_from(spans.len()).unwrap_or(u32::MAX));
            before.push(total);
            day = day.succ_opt().unwrap_or(day);
        }
        // Local day `i` above starts within a day of UTC day `first + i` (time zones are less than a day from
        // UTC), so UTC day `first + 1 + i` meets only the intervals of local days `i..i + 3`, and those before
        // local day `i` all end before its midnight: the UTC days covered are the first + 1 .. end - 2.
        let first_day = (first - date((1970, 1, 1))).num_days() + 1;
        let utc_days = days.saturating_sub(2);
        let mut table = DayTable {
            first_day,
            offsets: Vec::with_capacity(utc_days + 1),
            spans: Vec::with_capacity(spans.len()),
            before: Vec::with_capacity(utc_days),
        };
        table.offsets.push(0);
        for i in 0..utc_days {
            let midnight = (first_day + i as i64) * NANOS_PER_DAY;
            let next = midnight + NANOS_PER_DAY;
            // Whole seconds: interval boundaries and midnights are.
            let mut seconds = before[i];
            for &(start, end) in &spans[offsets[i] as usize..offsets[i + 3] as usize] {
                seconds += (midnight.min(end) - start).max(0) / NANOS_PER_SECOND;
                let (from, to) = (start.max(midnight), end.min(next));
                if from < to {
                    table.spans.push((from, to));
                }
            }
            table.before.push(seconds);
            table
                .offsets
                .push(u32::try_from(table.spans.len()).unwrap_or(u32::MAX));
        }
        table
    }

    /// Business time from the start of the covered range to `t` (ns since the epoch), as whole business seconds
    /// before `t`'s UTC day plus business nanoseconds of that day up to `t` (the exact value is
    /// `seconds * 10^9 + nanos`, which may not fit in an i64), or `None` when `t` is outside
    /// 1900-01-02..2199-12-30 (UTC).
    #[inline(always)]
    pub(crate) fn business_parts(&self, t: i64) -> Option<(i64, i64)> {
        let table = self.table();
        let day = t.div_euclid(NANOS_PER_DAY) - table.first_day;
        let i = usize::try_from(day)
            .ok()
            .filter(|&i| i < table.before.len())?;
        let mut partial = 0;
        let (from, to) = (table.offsets[i] as usize, table.offsets[i + 1] as usize);
        for &(start, end) in &table.spans[from..to] {
            partial += (t.min(end) - start).max(0);
        }
        Some((table.before[i], partial))
    }

    /// The earliest instant (ns) whose business time from the start of the covered range (as
    /// [`Self::business_nanos`] counts it) reaches `v` nanoseconds: inside an opening interval, or at its
    /// close when `v` is reached exactly there (never the next opening). `None` when the calendar has less
    /// business time than `v` before 2199-12-30. A binary search over the days' running totals, then the
    /// intervals of one day.
    pub(crate) fn instant_at_business(&self, v: i128) -> Option<i64> {
        let table = self.table();
        let nanos = |seconds: i64| i128::from(seconds) * i128::from(NANOS_PER_SECOND);
        let day = table.before.partition_point(|&b| nanos(b) < v);
        let Some(i) = day.checked_sub(1) else {
            // v <= 0: the first covered instant.
            return Some(table.first_day * NANOS_PER_DAY);
        };
        let mut total = nanos(table.before[i]);
        let (from, to) = (table.offsets[i] as usize, table.offsets[i + 1] as usize);
        for &(start, end) in &table.spans[from..to] {
            let len = i128::from(end - start);
            if total + len >= v {
                return i64::try_from(v - total).ok().map(|d| start + d);
            }
            total += len;
        }
        None
    }

    /// Business nanoseconds from the start of the covered range to `t`: [`Self::business_parts`] in one
    /// number, `None` outside the covered range.
    pub(crate) fn business_nanos(&self, t: i64) -> Option<i128> {
        self.business_parts(t).map(|(seconds, nanos)| {
            i128::from(seconds) * i128::from(NANOS_PER_SECOND) + i128::from(nanos)
        })
    }
}

fn show_interval((open, close): (u32, u32)) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        open / 3600,
        open % 3600 / 60,
        close / 3600,
        close % 3600 / 60
    )
}

/// `Mon-Fri 09:00-17:00 [13:00-17:00 ...]` into `weekly`.
fn parse_rule(rule: &str, weekly: &mut [Vec<(u32, u32)>; 7]) -> Result<()> {
    let bad = |why: &str| {
        exec_err!(
            "hours '{}' {why}; expected e.g. 'Mon-Fri 09:00-17:00' or 'Sat 10:00-12:00 13:00-15:00'",
            rule.trim()
        )
    };
    let mut words = rule.split_whitespace();
    let Some(days) = words.next() else {
        return bad("are empty");
    };
    let day_index = |name: &str| {
        WEEKDAYS
            .iter()
            .position(|d| name.to_ascii_lowercase().starts_with(d))
    };
    let (first, last) = match days.split_once('-') {
        Some((a, b)) => (day_index(a), day_index(b)),
        None => (day_index(days), day_index(days)),
    };
    let (Some(first), Some(last)) = (first, last) else {
        return bad("do not start with weekdays (Mon, Tue, ..., Sun)");
    };
    let mut intervals = Vec::new();
    for interval in words {
        let Some((open, close)) = interval.split_once('-') else {
            return bad("have an interval without '-'");
        };
        let time = |t: &str| -> Option<u32> {
            let (h, m) = t.split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 3600 + m * 60)
        };
        match (time(open), time(close)) {
            (Some(o), Some(c)) if o < c => intervals.push((o, c)),
            _ => return bad("have an interval that is not HH:MM-HH:MM with open < close"),
        }
    }
    if intervals.is_empty() {
        return bad("have no opening interval");
    }
    // Mon-Fri, or a range that wraps the week such as Fri-Mon.
    let mut d = first;
    loop {
        weekly[d].extend(&intervals);
        if d == last {
            break;
        }
        d = (d + 1) % 7;
    }
    Ok(())
}

/// The text of an error without DataFusion's kind prefix ("Execution error: ").
pub fn message(e: &DataFusionError) -> String {
    match e {
        DataFusionError::Execution(m) => m.clone(),
        other => other.strip_backtrace(),
    }
}

/// The calendars a session knows by name, plus inline ones parsed on first use.
#[derive(Debug, Default)]
pub struct Calendars {
    named: RwLock<HashMap<String, Arc<Calendar>>>,
}

/// The name of the calendar used when none is given.
pub const DEFAULT_CALENDAR: &str = "default";

impl Calendars {
    /// A registry holding the `default` calendar (Mon–Fri 09:00–17:00 UTC).
    pub fn new() -> Self {
        let calendars = Self::default();
        calendars.register(DEFAULT_CALENDAR, Calendar::default_hours());
        calendars
    }

    /// Adds or replaces calendar `name`.
    pub fn register(&self, name: &str, calendar: Calendar) {
        self.named
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Arc::new(calendar));
    }

    /// Every named calendar as (name, [`Calendar::spec`]), sorted by name; [`Calendars::from_specs`] reads
    /// them back.
    pub fn specs(&self) -> Vec<(String, String)> {
        let named = self.named.read().unwrap_or_else(|e| e.into_inner());
        let mut specs: Vec<(String, String)> = named
            .iter()
            .filter(|(name, _)| !name.contains('='))
            .map(|(name, calendar)| (name.clone(), calendar.spec()))
            .collect();
        specs.sort();
        specs
    }

    /// A registry holding the calendars `specs` writes (as [`Calendars::specs`] gives them).
    pub fn from_specs(specs: &[(String, String)]) -> Result<Self> {
        let calendars = Self::default();
        for (name, spec) in specs {
            let calendar = Calendar::parse(spec).map_err(|e| {
                DataFusionError::Execution(format!("calendar '{name}': {}", message(&e)))
            })?;
            calendars.register(name, calendar);
        }
        Ok(calendars)
    }

    /// The names registered, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .named
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .filter(|k| !k.contains('='))
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// The calendar `text` names, or the one it writes inline (`time_zone=...; hours=...`).
    pub fn get(&self, function: &str, text: &str) -> Result<Arc<Calendar>> {
        if let Some(c) = self
            .named
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(text)
        {
            return Ok(Arc::clone(c));
        }
        if !text.contains('=') {
            return exec_err!(
                "{function}: unknown calendar '{text}'; known calendars: {} (or write one inline, e.g. \
                 'time_zone=Europe/Paris; hours=Mon-Fri 09:00-17:00; holidays=2024-12-25')",
                self.names().join(", ")
            );
        }
        let calendar = Arc::new(Calendar::parse(text).map_err(|e| {
            DataFusionError::Execution(format!("{function}: calendar '{text}': {}", message(&e)))
        })?);
        self.named
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(text.to_string(), Arc::clone(&calendar));
        Ok(calendar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Business time before each of `instants`, per calendar.
    fn business(calendar: &Calendar, instants: &[i64]) -> Vec<Option<i128>> {
        instants
            .iter()
            .map(|&t| calendar.business_nanos(t))
            .collect()
    }

    #[test]
    fn spec_reads_back_as_the_same_calendar() -> Result<()> {
        let calendars = [
            Calendar::new(
                "Europe/Paris",
                &["Mon-Fri 09:00-12:00 13:00-17:30", "Sat 10:00-14:00"],
                &["2024-12-25", "2025-01-01"],
            )?,
            Calendar::new("+05:30", &["Fri-Mon 00:00-24:00"], &[])?,
            // Never open: written as `hours=` and read back as such, not as the default hours.
            Calendar::new("UTC", &[], &[])?,
        ];
        // Every 7 hours 13 minutes across 2024-2025, DST changes included.
        let instants: Vec<i64> = (0..2500)
            .map(|i| 1_704_067_200_000_000_000 + i * 26_000 * NANOS_PER_SECOND)
            .collect();
        for calendar in &calendars {
            let back = Calendar::parse(&calendar.spec())?;
            assert_eq!(back.spec(), calendar.spec());
            assert_eq!(back.time_zone(), calendar.time_zone());
            assert_eq!(business(&back, &instants), business(calendar, &instants));
        }
        assert_eq!(
            calendars[0].spec(),
            "time_zone=Europe/Paris; hours=mon 09:00-12:00 13:00-17:30, tue 09:00-12:00 13:00-17:30, \
             wed 09:00-12:00 13:00-17:30, thu 09:00-12:00 13:00-17:30, fri 09:00-12:00 13:00-17:30, \
             sat 10:00-14:00; holidays=2024-12-25 2025-01-01"
        );
        assert_eq!(calendars[2].spec(), "time_zone=UTC; hours=");
        assert!(
            business(&calendars[2], &instants)
                .iter()
                .all(|b| *b == Some(0))
        );
        Ok(())
    }

    /// The inverse of business time: the earliest instant reaching a business total, at a window's close when
    /// it is reached exactly there, checked against the forward function on either side of it.
    #[test]
    fn instant_at_business_is_the_earliest_instant_reaching_it() -> Result<()> {
        let calendar = Calendar::parse(
            "time_zone=Europe/Paris; hours=Mon-Fri 09:00-12:00 13:00-17:00; holidays=2024-04-01",
        )?;
        let start = calendar
            .business_nanos(1_711_000_000 * NANOS_PER_SECOND)
            .expect("in range");
        for i in 0..3000i128 {
            // Every 7 minutes 11.5 seconds of business time over some weeks, DST change included.
            let v = start + i * 431_500_000_000;
            let t = calendar.instant_at_business(v).expect("in range");
            assert_eq!(calendar.business_nanos(t), Some(v), "at {t}");
            assert!(
                calendar.business_nanos(t - 1).expect("in range") < v,
                "not earliest: {t}"
            );
        }
        // Friday 2024-03-29 16:00 UTC = 17:00 CET, the close: the total of that instant maps to it, not Tuesday
        // 09:00 (Monday is a holiday).
        let close = 1_711_728_000 * NANOS_PER_SECOND;
        let total = calendar.business_nanos(close).expect("in range");
        assert_eq!(calendar.instant_at_business(total), Some(close));
        // A calendar never open reaches nothing.
        let never = Calendar::parse("time_zone=UTC; hours=")?;
        assert_eq!(never.instant_at_business(1), None);
        Ok(())
    }

    #[test]
    fn specs_read_back_by_name() -> Result<()> {
        let calendars = Calendars::new();
        calendars.register(
            "emea",
            Calendar::parse("time_zone=Europe/Berlin; holidays=2024-10-03")?,
        );
        // An inline calendar cached under its text is not a named one.
        calendars.get("business_seconds", "time_zone=UTC")?;
        let specs = calendars.specs();
        assert_eq!(
            specs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["default", "emea"]
        );
        let back = Calendars::from_specs(&specs)?;
        assert_eq!(back.specs(), specs);
        let bad = Calendars::from_specs(&[("x".into(), "time_zone=Mars/Base".into())]);
        let message = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("calendar 'x'") && message.contains("Mars/Base"),
            "{message}"
        );
        Ok(())
    }
}
