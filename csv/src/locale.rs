//! Values written the way a spreadsheet in a given locale writes them: numbers with a decimal comma, dates
//! with the day or the month first, timestamps, durations; and the decision, made on all of a column's sampled
//! values, of which of these a text column holds.

/// The order of day, month and year in a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `31/03/2021`, `31.03.2021`, `31-03-2021`.
    DayFirst,
    /// `03/31/2021`.
    MonthFirst,
    /// `2021-03-31`, `2021/03/31`.
    YearFirst,
}

impl Order {
    pub fn name(self) -> &'static str {
        match self {
            Order::DayFirst => "day-first",
            Order::MonthFirst => "month-first",
            Order::YearFirst => "year-first",
        }
    }
}

/// A column written as a spreadsheet in some locale writes it, read as text and converted by cxsql.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// `3,5`, `-12,25`, `1 234,5` (thousands separated by a space, a no-break space, a narrow no-break space
    /// or a dot in groups of three): DOUBLE.
    DecimalComma,
    /// A date in the given order with `/`, `.` or `-` between its numbers and a four-digit year: DATE.
    Date(Order),
    /// Such a date, a space or `T`, and a time of day `H:MM`, `H:MM:SS` or `H:MM:SS.fff` (one or two digits
    /// of hour): TIMESTAMP (without time zone).
    Timestamp(Order),
    /// `H:MM:SS` or `H:MM:SS.fff`, any number of hours: INTERVAL (a duration; a time of day read this way is
    /// the time since midnight, and a date plus it is the timestamp).
    Duration,
}

impl Locale {
    /// The SQL type the column gets.
    pub fn sql_type(self) -> &'static str {
        match self {
            Locale::DecimalComma => "DOUBLE",
            Locale::Date(_) => "DATE",
            Locale::Timestamp(_) => "TIMESTAMP",
            Locale::Duration => "INTERVAL",
        }
    }
}

/// `3,5` → 3.5; `1 234,5` → 1234.5; `-12` → -12. Plain integers are accepted (a column of decimal commas has
/// some). A dot is a thousands separator only in groups of three digits (`1.234,5`).
pub fn parse_decimal_comma(text: &str) -> Option<f64> {
    let text = text.trim();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = match digits.split_once(',') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    if let Some(f) = fraction
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    // The whole part: digits, or groups of three after a separator.
    let groups: Vec<&str> = whole.split([' ', '\u{a0}', '\u{202f}', '.']).collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    let mut number: String = groups.concat();
    if let Some(f) = fraction {
        number.push('.');
        number.push_str(f);
    }
    number.parse::<f64>().ok().map(|v| sign * v)
}

/// The three numbers of a date such as `31/03/2021`, with the separator; a four-digit year first or last.
fn date_parts(text: &str) -> Option<(u32, u32, u32, bool)> {
    let sep = text.bytes().find(|b| matches!(b, b'/' | b'.' | b'-'))?;
    let mut parts = text.split(sep as char);
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let numeric = |p: &str, lengths: &[usize]| {
        lengths.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if numeric(a, &[4]) && numeric(b, &[1, 2]) && numeric(c, &[1, 2]) {
        return Some((a.parse().ok()?, b.parse().ok()?, c.parse().ok()?, true));
    }
    if numeric(a, &[1, 2]) && numeric(b, &[1, 2]) && numeric(c, &[4]) {
        return Some((a.parse().ok()?, b.parse().ok()?, c.parse().ok()?, false));
    }
    None
}

/// The date `text` in `order`, if it is one.
pub fn parse_date(text: &str, order: Order) -> Option<chrono::NaiveDate> {
    let (a, b, c, year_first) = date_parts(text.trim())?;
    let (y, m, d) = match (order, year_first) {
        (Order::YearFirst, true) => (a, b, c),
        (Order::DayFirst, false) => (c, b, a),
        (Order::MonthFirst, false) => (c, a, b),
        _ => return None,
    };
    chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// `H:MM`, `H:MM:SS` or `H:MM:SS.fff` as hours, minutes, seconds and nanoseconds; hours unbounded.
fn clock_parts(text: &str) -> Option<(u64, u32, u32, u32)> {
    let mut parts = text.split(':');
    let (h, m) = (parts.next()?, parts.next()?);
    let s = parts.next();
    if parts.next().is_some()
        || h.is_empty()
        || h.len() > 6
        || !h.bytes().all(|b| b.is_ascii_digit())
        || m.len() != 2
        || !m.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let minutes: u32 = m.parse().ok()?;
    let (seconds, nanos) = match s {
        None => (0, 0),
        Some(s) => {
            let (whole, fraction) = match s.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (s, None),
            };
            if whole.len() != 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let nanos = match fraction {
                None => 0,
                Some(f)
                    if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
                }
                Some(_) => return None,
            };
            (whole.parse().ok()?, nanos)
        }
    };
    (minutes < 60 && seconds < 60).then_some((h.parse().ok()?, minutes, seconds, nanos))
}

/// The timestamp `text` in `order`: a date, a space or `T`, a time of day.
pub fn parse_timestamp(text: &str, order: Order) -> Option<chrono::NaiveDateTime> {
    let text = text.trim();
    let (date, time) = text.split_once([' ', 'T'])?;
    let date = parse_date(date, order)?;
    let (h, m, s, nanos) = clock_parts(time.trim())?;
    let time = chrono::NaiveTime::from_hms_nano_opt(u32::try_from(h).ok()?, m, s, nanos)?;
    Some(date.and_time(time))
}

/// The duration `text` (`H:MM:SS`, `H:MM:SS.fff`) in nanoseconds. Minutes without seconds (`9:12`) are not a
/// duration: they read as a time of day or a score too easily.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.matches(':').count() != 2 {
        return None;
    }
    let (h, m, s, nanos) = clock_parts(text)?;
    let seconds = h.checked_mul(3600)? + u64::from(m) * 60 + u64::from(s);
    i64::try_from(seconds)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(i64::from(nanos))
}

/// What the values of a text column are, decided on all of them (empty values aside), and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Locale(Locale),
    /// Dates (or timestamps) whose day and month cannot be told apart: no day above 12 in the sample.
    AmbiguousDates {
        timestamp: bool,
    },
    Text,
}

/// Decides what the text column with `values` holds. `decimal_comma_allowed`: the delimiter is not `,`.
pub fn decide(values: &[&str], decimal_comma_allowed: bool) -> Decision {
    let values: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return Decision::Text;
    }
    let all = |f: &dyn Fn(&str) -> bool| values.iter().all(|v| f(v));
    if decimal_comma_allowed
        && values.iter().any(|v| v.contains(','))
        && all(&|v| parse_decimal_comma(v).is_some())
    {
        return Decision::Locale(Locale::DecimalComma);
    }
    if all(&|v| parse_duration(v).is_some()) {
        return Decision::Locale(Locale::Duration);
    }
    for timestamp in [false, true] {
        let fits = |order: Order| {
            all(&|v| {
                if timestamp {
                    parse_timestamp(v, order).is_some()
                } else {
                    parse_date(v, order).is_some()
                }
            })
        };
        let locale = |order| {
            if timestamp {
                Locale::Timestamp(order)
            } else {
                Locale::Date(order)
            }
        };
        if fits(Order::YearFirst) {
            return Decision::Locale(locale(Order::YearFirst));
        }
        match (fits(Order::DayFirst), fits(Order::MonthFirst)) {
            (true, false) => return Decision::Locale(locale(Order::DayFirst)),
            (false, true) => return Decision::Locale(locale(Order::MonthFirst)),
            (true, true) => return Decision::AmbiguousDates { timestamp },
            (false, false) => {}
        }
    }
    Decision::Text
}

/// What a single value looks like, for telling a header from a first data record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Shape {
    Empty,
    Number,
    Boolean,
    Temporal,
    Text,
}

pub(crate) fn shape(value: &str, decimal_comma_allowed: bool) -> Shape {
    let v = value.trim();
    if v.is_empty() {
        return Shape::Empty;
    }
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return Shape::Boolean;
    }
    let number = v.parse::<f64>().is_ok_and(f64::is_finite)
        || (decimal_comma_allowed && parse_decimal_comma(v).is_some());
    if number {
        return Shape::Number;
    }
    let temporal = parse_duration(v).is_some()
        || [Order::YearFirst, Order::DayFirst, Order::MonthFirst]
            .iter()
            .any(|&o| parse_date(v, o).is_some() || parse_timestamp(v, o).is_some())
        || v.parse::<chrono::NaiveDateTime>().is_ok()
        || v.parse::<chrono::DateTime<chrono::FixedOffset>>().is_ok();
    if temporal {
        return Shape::Temporal;
    }
    Shape::Text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_commas_with_thousands_separators() {
        assert_eq!(parse_decimal_comma("3,5"), Some(3.5));
        assert_eq!(parse_decimal_comma("-12,25"), Some(-12.25));
        assert_eq!(parse_decimal_comma("1 234,5"), Some(1234.5));
        assert_eq!(
            parse_decimal_comma("1\u{a0}234\u{a0}567,25"),
            Some(1_234_567.25)
        );
        assert_eq!(parse_decimal_comma("12\u{202f}345"), Some(12345.0));
        assert_eq!(parse_decimal_comma("1.234,5"), Some(1234.5));
        assert_eq!(parse_decimal_comma("42"), Some(42.0));
        for bad in [
            "3.5", "1 23,5", "12 3456", ",5", "3,", "3,5,1", "abc", "1,2e3", "", "1.23",
        ] {
            assert_eq!(parse_decimal_comma(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_timestamps_and_durations() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).expect("date");
        assert_eq!(
            parse_date("31/03/2021", Order::DayFirst),
            Some(d(2021, 3, 31))
        );
        assert_eq!(
            parse_date("31.03.2021", Order::DayFirst),
            Some(d(2021, 3, 31))
        );
        assert_eq!(parse_date("1/3/2021", Order::DayFirst), Some(d(2021, 3, 1)));
        assert_eq!(
            parse_date("1/3/2021", Order::MonthFirst),
            Some(d(2021, 1, 3))
        );
        assert_eq!(parse_date("31/03/2021", Order::MonthFirst), None);
        assert_eq!(
            parse_date("2021-03-31", Order::YearFirst),
            Some(d(2021, 3, 31))
        );
        assert_eq!(parse_date("2021-03-31", Order::DayFirst), None);
        assert_eq!(
            parse_date("29/02/2021", Order::DayFirst),
            None,
            "no such day"
        );
        assert_eq!(
            parse_date("31/03/21", Order::DayFirst),
            None,
            "two-digit years are text"
        );
        let t = parse_timestamp("05/01/2024 9:12", Order::DayFirst).expect("timestamp");
        assert_eq!(t, d(2024, 1, 5).and_hms_opt(9, 12, 0).expect("time"));
        let t = parse_timestamp("2024-01-05T09:12:58.25", Order::YearFirst).expect("timestamp");
        assert_eq!(
            t,
            d(2024, 1, 5)
                .and_hms_milli_opt(9, 12, 58, 250)
                .expect("time")
        );
        assert_eq!(parse_timestamp("05/01/2024 24:00", Order::DayFirst), None);
        assert_eq!(parse_duration("0:02:23"), Some(143_000_000_000));
        assert_eq!(parse_duration("26:00:01.5"), Some(93_601_500_000_000));
        assert_eq!(parse_duration("9:12"), None);
        assert_eq!(parse_duration("0:60:00"), None);
        assert_eq!(parse_duration("1:2:03"), None);
    }

    #[test]
    fn a_column_is_decided_on_all_its_values() {
        assert_eq!(
            decide(&["3,5", "4", "", "1 200,25"], true),
            Decision::Locale(Locale::DecimalComma)
        );
        assert_eq!(
            decide(&["3,5", "4"], false),
            Decision::Text,
            "',' separates fields"
        );
        assert_eq!(decide(&["3,5", "4.5"], true), Decision::Text);
        assert_eq!(
            decide(&["05/01/2024", "31/03/2021"], true),
            Decision::Locale(Locale::Date(Order::DayFirst))
        );
        assert_eq!(
            decide(&["05/01/2024", "03/31/2021"], true),
            Decision::Locale(Locale::Date(Order::MonthFirst))
        );
        assert_eq!(
            decide(&["05/01/2024 09:12", "06/01/2024 10:00"], true),
            Decision::AmbiguousDates { timestamp: true }
        );
        assert_eq!(
            decide(&["31/03/2021", "03/31/2021"], true),
            Decision::Text,
            "both orders"
        );
        assert_eq!(
            decide(&["2024-01-05 9:12:58"], true),
            Decision::Locale(Locale::Timestamp(Order::YearFirst))
        );
        assert_eq!(
            decide(&["0:02:23", "12:00:00"], true),
            Decision::Locale(Locale::Duration)
        );
        assert_eq!(decide(&["0:02:23", "soon"], true), Decision::Text);
        assert_eq!(decide(&["", " "], true), Decision::Text);
    }
}
