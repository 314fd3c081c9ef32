//! SVG charts for reports, chosen from the shape of a result:
//! - first column a date or timestamp: a line chart over time, one line per category of a following text
//!   column if there is one, of the first numeric column;
//! - leading text columns and a numeric column: a horizontal bar chart (one bar per row, labelled by the text
//!   columns), which stays readable with many categories;
//! - anything else: no chart.
//!
//! A manifest may name the charted columns (`chart = "p90_hours"` or a list): the chart then draws those, one
//! series or group of bars per column when there are several, labelled by the text columns before them (and a first
//! column of integers, such as an agent id).
//!
//! Uncertainty (see [`ChartOptions`]): columns `X_low` and `X_high` next to the charted column `X`, or a struct
//! column `X_ci` with fields `low` and `high`, are an interval for X: bars get whiskers, lines a shaded band.
//! A bar or point resting on fewer than `min_answers` answers (the count column: `n`, `responses`, `answers`,
//! `*_answers`, `*_responses`, or the one named) is drawn hollow and marked `n = 4`.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];
const WIDTH: f64 = 900.0;
const FONT: &str =
    "font-family=\"system-ui, -apple-system, Segoe UI, Roboto, sans-serif\" font-size=\"12\"";

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The unit a KPI column is in, from its name.
pub fn unit(column: &str) -> &'static str {
    let c = column.to_ascii_lowercase();
    if c == "nps" || c.starts_with("nps_") || c == "enps" || c.starts_with("enps_") {
        "NPS points, -100 to 100"
    } else if c.contains("revenue") || c.contains("lifetime_value") {
        "revenue, in the data's currency"
    } else if c.ends_with("pct") || c.contains("rate") || ["csat", "fcr"].contains(&c.as_str()) {
        "%"
    } else if c.ends_with("hours") {
        "hours"
    } else if c.ends_with("minutes") {
        "minutes"
    } else if c.ends_with("seconds") {
        "seconds"
    } else if c.contains("gap") {
        "scale points, perception - expectation"
    } else {
        "count"
    }
}

fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
    )
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_number(t: &DataType) -> bool {
    t.is_numeric()
}

fn floats(array: &ArrayRef) -> Option<Vec<Option<f64>>> {
    let array = cast(array, &DataType::Float64).ok()?;
    Some(array.as_primitive::<Float64Type>().iter().collect())
}

fn texts(array: &ArrayRef) -> Vec<String> {
    match ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default().with_null("NULL")) {
        Ok(f) => (0..array.len()).map(|i| f.value(i).to_string()).collect(),
        Err(_) => vec![String::new(); array.len()],
    }
}

/// Round steps (1, 2, 5 × 10^k) for about `count` ticks between `lo` and `hi`.
fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let span = (hi - lo).abs().max(1e-9);
    let raw = span / count as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= count as f64)
        .unwrap_or(10.0 * magnitude);
    let mut t = (lo / step).floor() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        if t >= lo - step * 1e-9 {
            out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        }
        t += step;
    }
    out
}

/// Round ticks that cover `[lo, hi]`: those of [`ticks`], plus one step beyond either end the data reaches
/// past, so that every value (and interval bound) lies between two labelled ticks.
fn covering_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let mut t = ticks(lo, hi, count);
    if t.len() >= 2 {
        let step = t[1] - t[0];
        if t[0] > lo + step * 1e-9 {
            t.insert(0, t[0] - step);
        }
        let last = t[t.len() - 1];
        if last < hi - step * 1e-9 {
            t.push(last + step);
        }
    }
    t
}

fn number_label(v: f64) -> String {
    if v.abs() >= 1000.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// How a report draws the uncertainty of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartOptions {
    /// A bar or point resting on fewer answers than this is drawn hollow and marked `n = N`.
    pub min_answers: u64,
    /// The column holding each row's number of answers; `None`: the first column named `n`, `responses`,
    /// `answers`, `*_answers` or `*_responses`.
    pub count: Option<String>,
    /// The charted columns; empty: the first numeric column after the first column.
    pub values: Vec<String>,
}

impl Default for ChartOptions {
    fn default() -> Self {
        Self {
            min_answers: 30,
            count: None,
            values: Vec::new(),
        }
    }
}

/// The column charted for a result: the first one the options name, else the first numeric one after the
/// first column.
pub fn value_column(batch: &RecordBatch, options: &ChartOptions) -> Option<usize> {
    value_columns(batch, options).ok()?.first().copied()
}

/// The charted columns of a result, or why the ones the options name cannot be charted.
pub fn value_columns(batch: &RecordBatch, options: &ChartOptions) -> Result<Vec<usize>, String> {
    let schema = batch.schema();
    if options.values.is_empty() {
        return Ok((1..schema.fields().len())
            .find(|&i| is_number(schema.field(i).data_type()))
            .into_iter()
            .collect());
    }
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    options
        .values
        .iter()
        .map(|name| match schema.index_of(name) {
            Ok(0) => Err(format!(
                "chart column '{name}' is the result's first column, which labels the chart; expected a \
                 numeric column after it"
            )),
            Ok(i) if is_number(schema.field(i).data_type()) => Ok(i),
            Ok(i) => Err(format!(
                "chart column '{name}' is {}, expected a numeric column",
                schema.field(i).data_type()
            )),
            Err(_) => Err(format!(
                "chart column '{name}' is not in the result; its columns: {}",
                names.join(", ")
            )),
        })
        .collect()
}

/// The result as drawn when the options name the charted columns: the first column when it is a time, the
/// text columns before the first charted one (and a first column of integers) as text labels, then `measure` (the column's name,
/// only when there are several), `value` (renamed after what the names share, e.g. `hours`), its interval
/// (`value_low`/`value_high` from the column's own) and the count column; one row per row and charted column.
fn melt(batch: &RecordBatch, options: &ChartOptions) -> Option<(RecordBatch, ChartOptions)> {
    let values = value_columns(batch, options).ok()?;
    let first_value = *values.iter().min()?;
    let schema = batch.schema();
    let rows = batch.num_rows();
    let repeat = |array: &ArrayRef| -> Option<ArrayRef> {
        let indices = UInt32Array::from_iter_values((0..values.len()).flat_map(|_| 0..rows as u32));
        take(array.as_ref(), &indices, None).ok()
    };
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for i in 0..first_value {
        let t = schema.field(i).data_type();
        if i == 0 && is_time(t) {
            fields.push(schema.field(i).clone());
            columns.push(repeat(batch.column(i))?);
        } else if is_text(t) || (i == 0 && t.is_integer()) {
            let text: ArrayRef = Arc::new(StringArray::from(texts(batch.column(i))));
            fields.push(Field::new(schema.field(i).name(), DataType::Utf8, true));
            columns.push(repeat(&text)?);
        }
    }
    let names: Vec<&str> = values
        .iter()
        .map(|&i| schema.field(i).name().as_str())
        .collect();
    if values.len() > 1 {
        let measure: Vec<&str> = names
            .iter()
            .flat_map(|n| std::iter::repeat_n(*n, rows))
            .collect();
        let measure = StringArray::from(measure);
        fields.push(Field::new("measure", DataType::Utf8, false));
        columns.push(Arc::new(measure));
    }
    let value_name = shared_suffix(&names);
    let stacked = |of: &dyn Fn(&str) -> Option<Vec<Option<f64>>>| -> Option<Float64Array> {
        let mut out = Vec::with_capacity(rows * names.len());
        for n in &names {
            out.extend(of(n).unwrap_or_else(|| vec![None; rows]));
        }
        (out.len() == rows * names.len()).then(|| Float64Array::from(out))
    };
    let column_floats = |n: &str| batch.column_by_name(n).and_then(floats);
    fields.push(Field::new(&value_name, DataType::Float64, true));
    columns.push(Arc::new(stacked(&|n| column_floats(n))?));
    if names.iter().any(|n| interval(batch, n).is_some()) {
        for side in ["low", "high"] {
            let of = |n: &str| {
                interval(batch, n).map(|v| {
                    v.into_iter()
                        .map(|b| b.map(|(l, h)| if side == "low" { l } else { h }))
                        .collect()
                })
            };
            fields.push(Field::new(
                format!("{value_name}_{side}"),
                DataType::Float64,
                true,
            ));
            columns.push(Arc::new(stacked(&of)?));
        }
    }
    let count = count_column(batch, options);
    if let Some(c) = count {
        fields.push(Field::new("n", DataType::Float64, true));
        columns.push(repeat(&cast(batch.column(c), &DataType::Float64).ok()?)?);
    }
    let melted = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).ok()?;
    let options = ChartOptions {
        min_answers: options.min_answers,
        count: count.map(|_| "n".to_string()),
        values: Vec::new(),
    };
    Some((melted, options))
}

/// What the charted columns' names share at their end (`new_hours`, `open_hours`: `hours`), else `value`; one
/// column keeps its name.
fn shared_suffix(names: &[&str]) -> String {
    if let [one] = names {
        return one.to_string();
    }
    let first = names[0];
    let suffix = (0..=first.len())
        .filter(|&i| first.is_char_boundary(i))
        .map(|i| &first[i..])
        .find(|s| names.iter().all(|n| n.ends_with(s)))
        .unwrap_or("");
    match suffix.trim_start_matches('_') {
        "" => "value".to_string(),
        s => s.to_string(),
    }
}

/// The interval of column `name` per row: `name_low`/`name_high` columns or a `name_ci` struct {low, high}.
fn interval(batch: &RecordBatch, name: &str) -> Option<Vec<Option<(f64, f64)>>> {
    let column = |n: &str| batch.column_by_name(n).filter(|c| is_number(c.data_type()));
    let (low, high) = match (
        column(&format!("{name}_low")),
        column(&format!("{name}_high")),
    ) {
        (Some(low), Some(high)) => (low.clone(), high.clone()),
        _ => {
            let ci = batch
                .column_by_name(&format!("{name}_ci"))?
                .as_struct_opt()?;
            (
                ci.column_by_name("low")?.clone(),
                ci.column_by_name("high")?.clone(),
            )
        }
    };
    let (low, high) = (floats(&low)?, floats(&high)?);
    Some(
        low.into_iter()
            .zip(high)
            .map(|(l, h)| Some((l?, h?)))
            .collect(),
    )
}

/// The index of the count column of a result, if it has one.
pub fn count_column(batch: &RecordBatch, options: &ChartOptions) -> Option<usize> {
    let schema = batch.schema();
    let numeric = |i: usize| is_number(schema.field(i).data_type());
    match &options.count {
        Some(name) => schema.index_of(name).ok().filter(|&i| numeric(i)),
        None => (0..schema.fields().len()).find(|&i| {
            let n = schema.field(i).name().to_ascii_lowercase();
            numeric(i)
                && (["n", "responses", "answers"].contains(&n.as_str())
                    || n.ends_with("_answers")
                    || n.ends_with("_responses"))
        }),
    }
}

/// Per row, its number of answers when it is below `min_answers` (a row to draw hollow).
pub fn small_rows(batch: &RecordBatch, options: &ChartOptions) -> Vec<Option<u64>> {
    let counts = count_column(batch, options).and_then(|i| floats(batch.column(i)));
    (0..batch.num_rows())
        .map(|r| {
            let n = counts.as_ref()?[r]?;
            (n < options.min_answers as f64).then_some(n.max(0.0) as u64)
        })
        .collect()
}

/// The chart for a result, or `None` when its shape has no natural chart.
pub fn chart(batch: &RecordBatch, options: &ChartOptions) -> Option<String> {
    if batch.num_rows() == 0 || batch.num_columns() < 2 {
        return None;
    }
    if !options.values.is_empty() {
        let (melted, options) = melt(batch, options)?;
        return chart(&melted, &options);
    }
    let schema = batch.schema();
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    let value = value_column(batch, options)?;
    let name = schema.field(value).name().clone();
    let extras = Extras {
        interval: interval(batch, &name),
        small: small_rows(batch, options),
    };
    if is_time(types[0]) {
        let series = (1..value).find(|&i| is_text(types[i]));
        line_chart(batch, series, value, &name, &extras)
    } else if is_text(types[0]) {
        let labels: Vec<usize> = (0..value).filter(|&i| is_text(types[i])).collect();
        bar_chart(batch, &labels, value, &name, &extras)
    } else {
        None
    }
}

/// Per row of a result: the charted value's interval, and its count when small.
struct Extras {
    interval: Option<Vec<Option<(f64, f64)>>>,
    small: Vec<Option<u64>>,
}

impl Extras {
    fn interval(&self, row: usize) -> Option<(f64, f64)> {
        self.interval.as_ref()?[row]
    }
}

/// Whether a column's date or timestamp texts (`2024-07-01T00:00:00Z`, `2024-07-14`) are all midnights; then
/// the labels to print: `2024-07` when all are month starts, `2024-07-14` otherwise.
pub fn date_labels(texts: &[String]) -> Option<Vec<String>> {
    let values: Vec<&String> = texts.iter().filter(|t| t.as_str() != "NULL").collect();
    if values.is_empty() {
        return None;
    }
    let midnight = |t: &str| {
        t.len() >= 10
            && t[..10].chars().filter(|c| *c == '-').count() == 2
            && t.get(10..).is_none_or(|rest| {
                rest.is_empty() || rest.trim_start_matches(['T', ' ']).starts_with("00:00:00")
            })
    };
    if !values.iter().all(|t| midnight(t)) {
        return None;
    }
    let months = values.iter().all(|t| &t[8..10] == "01");
    Some(
        texts
            .iter()
            .map(|t| match (t.as_str(), months) {
                ("NULL", _) => t.clone(),
                (_, true) => t[..7].to_string(),
                (_, false) => t[..10].to_string(),
            })
            .collect(),
    )
}

fn line_chart(
    batch: &RecordBatch,
    series: Option<usize>,
    value: usize,
    name: &str,
    extras: &Extras,
) -> Option<String> {
    let time = cast(
        batch.column(0),
        &DataType::Timestamp(TimeUnit::Second, None),
    )
    .ok()?;
    let xs: Vec<Option<f64>> = floats(&cast(&time, &DataType::Int64).ok()?)?;
    let ys = floats(batch.column(value))?;
    let labels = texts(batch.column(0));
    let keys: Vec<String> = match series {
        Some(i) => texts(batch.column(i)),
        None => vec![name.to_string(); batch.num_rows()],
    };
    // Series in order of first appearance.
    let mut names: Vec<String> = Vec::new();
    for k in &keys {
        if !names.contains(k) {
            names.push(k.clone());
        }
    }
    // (series, x, y, row)
    let points: Vec<(usize, f64, f64, usize)> = (0..batch.num_rows())
        .filter_map(|r| Some((names.iter().position(|n| *n == keys[r])?, xs[r]?, ys[r]?, r)))
        .collect();
    if points.is_empty() {
        return None;
    }
    let (x_lo, x_hi) = min_max(points.iter().map(|p| p.1));
    let (mut y_lo, mut y_hi) = min_max(points.iter().flat_map(|p| {
        let (lo, hi) = extras.interval(p.3).unwrap_or((p.2, p.2));
        [p.2, lo, hi]
    }));
    if y_lo > 0.0 && y_lo < 0.25 * y_hi {
        y_lo = 0.0;
    }
    if y_hi == y_lo {
        y_hi = y_lo + 1.0;
    }
    let y_ticks = covering_ticks(y_lo, y_hi, 5);
    let (y_lo, y_hi) = (y_ticks[0].min(y_lo), y_ticks[y_ticks.len() - 1].max(y_hi));
    let legend_rows = if series.is_some() {
        names.len().div_ceil(5)
    } else {
        0
    };
    let (left, right, top, bottom) = (70.0, 40.0, 20.0 + 18.0 * legend_rows as f64, 50.0);
    let height = 320.0 + top;
    let plot_w = WIDTH - left - right;
    let plot_h = height - top - bottom;
    let sx = |x: f64| {
        left + if x_hi > x_lo {
            (x - x_lo) / (x_hi - x_lo) * plot_w
        } else {
            plot_w / 2.0
        }
    };
    let sy = |y: f64| top + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h;

    let mut svg = svg_open(height, &format!("{name} over time"));
    for t in &y_ticks {
        let y = sy(*t);
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" {FONT} fill=\"#555\">{}</text>",
            left + plot_w,
            left - 6.0,
            y + 4.0,
            number_label(*t)
        ));
    }
    // X labels: distinct instants, at most 12, evenly spaced.
    let mut instants: Vec<(f64, String)> = Vec::new();
    for r in 0..batch.num_rows() {
        if let Some(x) = xs[r]
            && !instants.iter().any(|(v, _)| *v == x)
        {
            instants.push((x, short_date(&labels[r])));
        }
    }
    instants.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Over more than half a year, months are enough (and month ends read as their month).
    if x_hi - x_lo > 183.0 * 86_400.0 {
        for (_, label) in instants.iter_mut() {
            label.truncate(7);
        }
    }
    let every = instants.len().div_ceil(12).max(1);
    for (x, label) in instants.iter().step_by(every) {
        let px = sx(*x);
        svg.push_str(&format!(
            "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#999\"/>\
             <text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\" {FONT} fill=\"#555\">{}</text>",
            top + plot_h,
            top + plot_h + 4.0,
            top + plot_h + 18.0,
            escape(label)
        ));
    }
    svg.push_str(&axes(left, top, plot_w, plot_h));
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" {FONT} fill=\"#333\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\" \
         >{} ({})</text>",
        14.0,
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        escape(name),
        escape(unit(name))
    ));
    // Every series' band first, so that no band veils another series' line.
    let in_series = |s: usize| {
        let mut mine: Vec<&(usize, f64, f64, usize)> = points.iter().filter(|p| p.0 == s).collect();
        mine.sort_by(|a, b| a.1.total_cmp(&b.1));
        mine
    };
    for (s, series_name) in names.iter().enumerate() {
        let color = PALETTE[s % PALETTE.len()];
        // The interval as a band: along the high bounds, back along the low ones.
        let band: Vec<(f64, f64, f64)> = in_series(s)
            .iter()
            .filter_map(|p| {
                extras
                    .interval(p.3)
                    .map(|(lo, hi)| (sx(p.1), sy(lo), sy(hi)))
            })
            .collect();
        if band.len() >= 2 {
            let outline: Vec<String> = band
                .iter()
                .map(|(x, _, hi)| format!("{x:.1},{hi:.1}"))
                .chain(
                    band.iter()
                        .rev()
                        .map(|(x, lo, _)| format!("{x:.1},{lo:.1}")),
                )
                .collect();
            svg.push_str(&format!(
                "<polygon class=\"band\" fill=\"{color}\" fill-opacity=\"0.12\" stroke=\"none\" points=\"{}\">\
                 <title>{} interval</title></polygon>",
                outline.join(" "),
                escape(series_name)
            ));
        }
    }
    for (s, series_name) in names.iter().enumerate() {
        let color = PALETTE[s % PALETTE.len()];
        let mine = in_series(s);
        let pts: Vec<(f64, f64)> = mine.iter().map(|p| (sx(p.1), sy(p.2))).collect();
        let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        svg.push_str(&format!(
            "<polyline class=\"series\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\">\
             <title>{}</title></polyline>",
            path.join(" "),
            escape(series_name)
        ));
        for (p, (x, y)) in mine.iter().zip(&pts) {
            // Points on too few answers are hollow, whatever the number of points.
            if let Some(n) = extras.small[p.3] {
                svg.push_str(&format!(
                    "<circle class=\"small\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"#fff\" \
                     stroke=\"{color}\" stroke-width=\"1.5\"><title>n = {n}</title></circle>"
                ));
            } else if pts.len() <= 60 {
                svg.push_str(&format!(
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{color}\"/>"
                ));
            }
        }
        if series.is_some() {
            let (lx, ly) = (left + 150.0 * (s % 5) as f64, 14.0 + 18.0 * (s / 5) as f64);
            svg.push_str(&format!(
                "<rect x=\"{lx}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{color}\"/>\
                 <text x=\"{}\" y=\"{ly}\" {FONT} fill=\"#333\">{}</text>",
                ly - 10.0,
                lx + 16.0,
                escape(&truncate(series_name, 20))
            ));
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

fn bar_chart(
    batch: &RecordBatch,
    label_columns: &[usize],
    value: usize,
    name: &str,
    extras: &Extras,
) -> Option<String> {
    let values = floats(batch.column(value))?;
    let label_texts: Vec<Vec<String>> = label_columns
        .iter()
        .map(|&i| texts(batch.column(i)))
        .collect();
    // (label, value, row)
    let rows: Vec<(String, f64, usize)> = (0..batch.num_rows())
        .filter_map(|r| {
            let label: Vec<&str> = label_texts.iter().map(|col| col[r].as_str()).collect();
            Some((label.join(" · "), values[r]?, r))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let (lo, hi) = min_max(rows.iter().flat_map(|r| {
        let (lo, hi) = extras.interval(r.2).unwrap_or((r.1, r.1));
        [r.1, lo, hi]
    }));
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let x_ticks = covering_ticks(lo, if hi == lo { lo + 1.0 } else { hi }, 6);
    let (lo, hi) = (x_ticks[0].min(lo), x_ticks[x_ticks.len() - 1].max(hi));
    let (left, right, top, bar, gap) = (210.0, 60.0, 10.0, 16.0, 6.0);
    let plot_w = WIDTH - left - right;
    let plot_h = rows.len() as f64 * (bar + gap);
    let height = top + plot_h + 48.0;
    let sx = |v: f64| left + (v - lo) / (hi - lo) * plot_w;
    let mut svg = svg_open(height, &format!("{name} by {}", label_columns.len()));
    for t in &x_ticks {
        let x = sx(*t);
        svg.push_str(&format!(
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" {FONT} fill=\"#555\">{}</text>",
            top + plot_h,
            top + plot_h + 16.0,
            number_label(*t)
        ));
    }
    let zero = sx(0.0);
    for (i, (label, v, row)) in rows.iter().enumerate() {
        let y = top + i as f64 * (bar + gap);
        let (x0, x1) = if *v >= 0.0 {
            (zero, sx(*v))
        } else {
            (sx(*v), zero)
        };
        let color = if *v >= 0.0 { PALETTE[0] } else { PALETTE[3] };
        // A bar on too few answers is hollow, and its label says how few.
        let small = extras.small[*row];
        let (class, paint, shown) = match small {
            Some(n) => (
                "bar small",
                format!(
                    "fill=\"#fff\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\""
                ),
                format!("{} (n = {n})", truncate(label, 24)),
            ),
            None => ("bar", format!("fill=\"{color}\""), truncate(label, 32)),
        };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" {FONT} fill=\"#333\">{}<title>{}</title></text>\
             <rect class=\"{class}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar}\" {paint}>\
             <title>{}: {}</title></rect>",
            left - 6.0,
            y + bar - 3.0,
            escape(&shown),
            escape(label),
            (x1 - x0).max(0.5),
            escape(label),
            number_label(*v),
        ));
        let mut end = x1.max(zero);
        if let Some((lo, hi)) = extras.interval(*row) {
            let (wl, wh, ym) = (sx(lo), sx(hi), y + bar / 2.0);
            svg.push_str(&format!(
                "<g class=\"whisker\" stroke=\"#333\" stroke-width=\"1.2\"><title>interval {} to {}</title>\
                 <line x1=\"{wl:.1}\" x2=\"{wh:.1}\" y1=\"{ym:.1}\" y2=\"{ym:.1}\"/>\
                 <line x1=\"{wl:.1}\" x2=\"{wl:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <line x1=\"{wh:.1}\" x2=\"{wh:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/></g>",
                number_label(lo),
                number_label(hi),
                ym - 4.0,
                ym + 4.0,
                ym - 4.0,
                ym + 4.0
            ));
            end = end.max(wh);
        }
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} fill=\"#333\">{}</text>",
            end + 4.0,
            y + bar - 3.0,
            number_label(*v)
        ));
    }
    svg.push_str(&format!(
        "<line x1=\"{zero:.1}\" x2=\"{zero:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#333\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" {FONT} fill=\"#333\">{} ({})</text></svg>",
        top + plot_h,
        left + plot_w / 2.0,
        top + plot_h + 36.0,
        escape(name),
        escape(unit(name))
    ));
    Some(svg)
}

fn svg_open(height: f64, title: &str) -> String {
    format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"100%\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    )
}

fn axes(left: f64, top: f64, w: f64, h: f64) -> String {
    format!(
        "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{}\" stroke=\"#333\"/>\
         <line x1=\"{left}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#333\"/>",
        top + h,
        left + w,
        top + h,
        top + h
    )
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// `2024-03-01T00:00:00Z` → `2024-03` for month starts, `2024-03-15` for days.
fn short_date(label: &str) -> String {
    let day = label.get(..10).unwrap_or(label);
    match day.strip_suffix("-01") {
        Some(month)
            if label
                .get(10..)
                .is_none_or(|rest| rest.trim_start_matches('T').starts_with("00:00:00")) =>
        {
            month.to_string()
        }
        _ => day.to_string(),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, TimestampMicrosecondArray};

    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        let t = ticks(-33.0, 41.0, 5);
        assert!(t[0] <= -20.0 && *t.last().unwrap() >= 40.0, "{t:?}");
        // Covering ticks reach past both ends: a band from -19.6 to 36.1 is labelled -20 to 40.
        assert_eq!(covering_ticks(-19.6, 36.1, 5), vec![-20.0, 0.0, 20.0, 40.0]);
        assert_eq!(covering_ticks(0.0, 100.0, 5), ticks(0.0, 100.0, 5));
    }

    #[test]
    fn time_first_gives_a_line_per_category() {
        let month = 2_678_400_000_000i64;
        let batch = RecordBatch::try_from_iter(vec![
            (
                "month",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![0, 0, month, month]).with_timezone("UTC"),
                ) as ArrayRef,
            ),
            (
                "channel",
                Arc::new(StringArray::from(vec!["chat", "email", "chat", "email"])) as ArrayRef,
            ),
            (
                "csat",
                Arc::new(Float64Array::from(vec![80.0, 70.0, 82.0, 69.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let svg = chart(&batch, &ChartOptions::default()).expect("a chart");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">chat<") && svg.contains(">email<"), "legend");
        assert!(svg.contains("csat (%)"), "axis label with unit");
        assert!(
            svg.contains(">1970-01<") && svg.contains(">1970-02<"),
            "month labels"
        );
    }

    /// Named chart columns: several over time are a line each, named in the legend and the axis by what the
    /// names share; several by category are a bar per category and column, each with its own interval; a
    /// leading integer column labels the bars; a name that is not a numeric column of the result is refused.
    #[test]
    fn named_columns_are_a_series_or_a_bar_each() {
        let day = 86_400_000_000i64;
        let batch = RecordBatch::try_from_iter(vec![
            (
                "day",
                Arc::new(TimestampMicrosecondArray::from(vec![0, day, 2 * day])) as ArrayRef,
            ),
            ("new", Arc::new(Int64Array::from(vec![5, 6, 7])) as ArrayRef),
            (
                "open",
                Arc::new(Int64Array::from(vec![50, 60, 70])) as ArrayRef,
            ),
            (
                "pending",
                Arc::new(Int64Array::from(vec![20, 10, 0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let options = ChartOptions {
            values: vec!["new".into(), "open".into(), "pending".into()],
            ..ChartOptions::default()
        };
        let svg = chart(&batch, &options).expect("a chart");
        assert_eq!(svg.matches("<polyline").count(), 3, "{svg}");
        for name in ["new", "open", "pending"] {
            assert!(svg.contains(&format!("<title>{name}</title>")), "{name}");
        }
        assert!(svg.contains("value (count)"), "axis: {svg}");
        // One named column is the line, under its own name.
        let one = ChartOptions {
            values: vec!["open".into()],
            ..ChartOptions::default()
        };
        let svg = chart(&batch, &one).expect("a chart");
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains("open (count)"));

        let bars = RecordBatch::try_from_iter(vec![
            (
                "agent_id",
                Arc::new(Int64Array::from(vec![7, 9])) as ArrayRef,
            ),
            (
                "team",
                Arc::new(StringArray::from(vec!["billing", "tech"])) as ArrayRef,
            ),
            (
                "replies",
                Arc::new(Int64Array::from(vec![400, 3])) as ArrayRef,
            ),
            (
                "median_hours",
                Arc::new(Float64Array::from(vec![2.0, 3.0])) as ArrayRef,
            ),
            (
                "median_hours_low",
                Arc::new(Float64Array::from(vec![1.5, 1.0])) as ArrayRef,
            ),
            (
                "median_hours_high",
                Arc::new(Float64Array::from(vec![2.5, 6.0])) as ArrayRef,
            ),
            (
                "p90_hours",
                Arc::new(Float64Array::from(vec![20.0, 30.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let options = ChartOptions {
            values: vec!["median_hours".into(), "p90_hours".into()],
            count: Some("replies".into()),
            ..ChartOptions::default()
        };
        let svg = chart(&bars, &options).expect("a chart");
        assert_eq!(svg.matches("class=\"bar\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("class=\"bar small\"").count(), 2, "{svg}");
        assert!(
            svg.contains("<title>7 · billing · p90_hours: 20</title>"),
            "{svg}"
        );
        assert!(svg.contains("9 · tech · median_hours (n = 3)"), "{svg}");
        assert_eq!(svg.matches("class=\"whisker\"").count(), 2, "median only");
        assert!(svg.contains("interval 1.50 to 2.50"), "{svg}");
        assert!(svg.contains("hours (hours)"), "axis: {svg}");

        for (name, why) in [
            (
                "p50_hours",
                "is not in the result; its columns: agent_id, team",
            ),
            ("team", "is Utf8, expected a numeric column"),
            ("agent_id", "is the result's first column"),
        ] {
            let bad = ChartOptions {
                values: vec![name.into()],
                ..ChartOptions::default()
            };
            let err = value_columns(&bars, &bad).expect_err(name);
            assert!(
                err.contains(&format!("chart column '{name}' {why}")),
                "{err}"
            );
            assert!(chart(&bars, &bad).is_none());
        }
    }

    #[test]
    fn ten_years_of_months_stay_readable() {
        let month = 2_629_800_000_000i64; // an average month, in microseconds
        let n = 120 * 5;
        let times: Vec<i64> = (0..n as i64).map(|i| (i / 5) * month).collect();
        let channels: Vec<&str> = (0..n).map(|i| ["a", "b", "c", "d", "e"][i % 5]).collect();
        let values: Vec<f64> = (0..n).map(|i| (i % 37) as f64).collect();
        let batch = RecordBatch::try_from_iter(vec![
            (
                "month",
                Arc::new(TimestampMicrosecondArray::from(times)) as ArrayRef,
            ),
            ("channel", Arc::new(StringArray::from(channels)) as ArrayRef),
            ("nps", Arc::new(Float64Array::from(values)) as ArrayRef),
        ])
        .unwrap();
        let svg = chart(&batch, &ChartOptions::default()).expect("a chart");
        assert_eq!(svg.matches("<polyline").count(), 5);
        assert!(!svg.contains("<circle"), "no point markers on 120 points");
        let labels = svg.matches("text-anchor=\"middle\"").count();
        assert!(labels <= 14, "{labels} x labels and the axis title");
    }

    #[test]
    fn categories_give_bars_with_negative_values_left_of_zero() {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "channel",
                Arc::new(StringArray::from(vec!["chat", "social"])) as ArrayRef,
            ),
            (
                "nps",
                Arc::new(Float64Array::from(vec![20.0, -30.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let svg = chart(&batch, &ChartOptions::default()).expect("a chart");
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
        assert!(svg.contains("nps (NPS points, -100 to 100)"));
    }

    #[test]
    fn fifty_categories_stay_readable() {
        let labels: Vec<String> = (0..50)
            .map(|i| format!("agent number {i} with a long name"))
            .collect();
        let batch = RecordBatch::try_from_iter(vec![
            ("agent", Arc::new(StringArray::from(labels)) as ArrayRef),
            (
                "fcr",
                Arc::new(Float64Array::from(
                    (0..50).map(f64::from).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
        ])
        .unwrap();
        let svg = chart(&batch, &ChartOptions::default()).expect("a chart");
        assert_eq!(svg.matches("class=\"bar\"").count(), 50);
        // One row per bar, each at least 16 px high.
        assert!(svg.contains("viewBox=\"0 0 900 1158\""), "{}", &svg[..200]);
    }

    /// `csat_low`/`csat_high` next to `csat` are whiskers; a bar on 4 answers is hollow and says so.
    #[test]
    fn intervals_are_whiskers_and_small_bars_are_hollow() {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "channel",
                Arc::new(StringArray::from(vec!["chat", "social"])) as ArrayRef,
            ),
            (
                "csat",
                Arc::new(Float64Array::from(vec![80.0, 0.0])) as ArrayRef,
            ),
            (
                "csat_low",
                Arc::new(Float64Array::from(vec![76.0, 0.0])) as ArrayRef,
            ),
            (
                "csat_high",
                Arc::new(Float64Array::from(vec![84.0, 49.0])) as ArrayRef,
            ),
            (
                "responses",
                Arc::new(Float64Array::from(vec![400.0, 4.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let svg = chart(&batch, &ChartOptions::default()).expect("a chart");
        assert_eq!(svg.matches("class=\"whisker\"").count(), 2, "{svg}");
        assert!(svg.contains("interval 76 to 84"));
        assert_eq!(svg.matches("class=\"bar small\"").count(), 1);
        assert_eq!(svg.matches("class=\"bar\"").count(), 1);
        assert!(svg.contains("social (n = 4)"), "{svg}");
        // With a lower threshold nothing is small; a named count column is used as given.
        let few = ChartOptions {
            min_answers: 3,
            ..ChartOptions::default()
        };
        assert!(!chart(&batch, &few).expect("a chart").contains("small"));
        let named = ChartOptions {
            min_answers: 500,
            count: Some("responses".into()),
            ..ChartOptions::default()
        };
        assert_eq!(
            chart(&batch, &named)
                .expect("a chart")
                .matches("class=\"bar small\"")
                .count(),
            2
        );
    }

    /// A struct `nps_ci` {low, high} is the band of the `nps` line; a month on few answers is a hollow point.
    #[test]
    fn a_ci_struct_is_a_band_and_small_points_are_hollow() {
        use datafusion::arrow::array::StructArray;
        use datafusion::arrow::datatypes::Field;

        let month = 2_678_400_000_000i64;
        let ci = StructArray::from(vec![
            (
                Arc::new(Field::new("low", DataType::Float64, true)),
                Arc::new(Float64Array::from(vec![10.0, 12.0, -40.0])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("high", DataType::Float64, true)),
                Arc::new(Float64Array::from(vec![30.0, 31.0, 60.0])) as ArrayRef,
            ),
        ]);
        let batch = RecordBatch::try_from_iter(vec![
            (
                "month",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![0, month, 2 * month]).with_timezone("UTC"),
                ) as ArrayRef,
            ),
            (
                "nps",
                Arc::new(Float64Array::from(vec![20.0, 21.0, 10.0])) as ArrayRef,
            ),
            ("nps_ci", Arc::new(ci) as ArrayRef),
            (
                "n",
                Arc::new(Float64Array::from(vec![300.0, 310.0, 9.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let svg = chart(&batch, &ChartOptions::default()).expect("a chart");
        assert_eq!(svg.matches("class=\"band\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("class=\"small\"").count(), 1);
        assert!(svg.contains("<title>n = 9</title>"));
    }

    #[test]
    fn dates_print_as_months_or_days_when_all_are_midnights() {
        let texts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            date_labels(&texts(&[
                "2024-07-01T00:00:00Z",
                "2024-08-01T00:00:00Z",
                "NULL"
            ])),
            Some(texts(&["2024-07", "2024-08", "NULL"]))
        );
        assert_eq!(
            date_labels(&texts(&["2024-07-01T00:00:00", "2024-07-14T00:00:00"])),
            Some(texts(&["2024-07-01", "2024-07-14"]))
        );
        assert_eq!(
            date_labels(&texts(&["2024-07-14"])),
            Some(texts(&["2024-07-14"]))
        );
        assert_eq!(date_labels(&texts(&["2024-07-01T12:30:00Z"])), None);
        assert_eq!(date_labels(&texts(&["chat"])), None);
    }
}
