//! Benchmark: each KPI function against the same KPI written in plain SQL, in the same `SessionContext`, on
//! generated data grouped by 6 keys and by ~1 million keys. Prints the best of several runs and the ratio
//! (function time / plain-SQL time; the target is <= 1.1).
//!
//! `cargo bench -p cxsql-udfs --bench kpis` (10 million rows), or with a row count and a number of runs:
//! `cargo bench -p cxsql-udfs --bench kpis -- 2000000 3`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Schema, TimeUnit};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

// The window pairs are used by the property test only.
#[allow(dead_code)]
#[path = "../tests/common/formulas.rs"]
mod formulas;

const BATCH: usize = 8192;
const DAY_US: i64 = 86_400_000_000;

/// SplitMix64: a tiny deterministic generator, enough for benchmark data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }

    /// `Some(value)` except for `null_percent` percent of the rows.
    fn maybe<T>(&mut self, null_percent: u64, value: impl FnOnce(&mut Self) -> T) -> Option<T> {
        let value = value(self);
        (self.below(100) >= null_percent as i64).then_some(value)
    }
}

fn schema() -> Arc<Schema> {
    formulas::schema(
        [("k6", DataType::Int32), ("k1m", DataType::Int64)],
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    )
}

fn batch(rng: &mut Rng, rows: usize, schema: &Arc<Schema>) -> Result<RecordBatch> {
    let mut k6 = Vec::with_capacity(rows);
    let mut k1m = Vec::with_capacity(rows);
    let (mut s, mut c, mut b, mut k) = (vec![], vec![], vec![], vec![]);
    let (mut p, mut e, mut w, mut cr, mut rs) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rows {
        k6.push(rng.below(6) as i32);
        k1m.push(rng.below(1_000_000));
        s.push(rng.maybe(10, |r| r.below(11) as i32));
        c.push(rng.maybe(10, |r| 1 + r.below(5) as i32));
        b.push(rng.maybe(10, |r| r.below(3) > 0));
        k.push(rng.maybe(20, |r| 1 + r.below(4) as i32));
        p.push(rng.maybe(5, |r| 1 + r.below(7) as i32));
        e.push(rng.maybe(5, |r| 1 + r.below(7) as i32));
        w.push(rng.maybe(5, |r| r.below(9) as f64 / 4.0));
        let created = rng.below(30 * DAY_US as u64);
        cr.push(rng.maybe(1, |_| created));
        rs.push(rng.maybe(20, |r| created + r.below(10 * DAY_US as u64)));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(k6)),
        Arc::new(Int64Array::from(k1m)),
        Arc::new(Int32Array::from(s)),
        Arc::new(Int32Array::from(c)),
        Arc::new(BooleanArray::from(b)),
        Arc::new(Int32Array::from(k)),
        Arc::new(Int32Array::from(p)),
        Arc::new(Int32Array::from(e)),
        Arc::new(Float64Array::from(w)),
        Arc::new(TimestampMicrosecondArray::from(cr).with_timezone("UTC")),
        Arc::new(TimestampMicrosecondArray::from(rs).with_timezone("UTC")),
    ];
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

fn table(rows: usize, partitions: usize) -> Result<MemTable> {
    let schema = schema();
    let mut rng = Rng(42);
    let mut parts = vec![Vec::new(); partitions];
    let mut done = 0;
    let mut i = 0;
    while done < rows {
        let n = BATCH.min(rows - done);
        parts[i % partitions].push(batch(&mut rng, n, &schema)?);
        done += n;
        i += 1;
    }
    MemTable::try_new(schema, parts)
}

async fn time(ctx: &SessionContext, sql: &str, runs: usize) -> Result<Duration> {
    let mut best = Duration::MAX;
    // One warm-up run, then the best of `runs`.
    for _ in 0..=runs {
        let start = Instant::now();
        let batches = ctx.sql(sql).await?.collect().await?;
        let elapsed = start.elapsed();
        std::hint::black_box(batches);
        best = best.min(elapsed);
    }
    Ok(best)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let rows: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let ctx = SessionContext::new_with_config(SessionConfig::new());
    let partitions = ctx.state().config().target_partitions();
    cxsql_udfs::register_all(&ctx);
    let start = Instant::now();
    ctx.register_table("t", Arc::new(table(rows, partitions)?))?;
    println!(
        "{rows} rows in {partitions} partitions, generated in {:.1?}; best of {runs} runs after a warm-up",
        start.elapsed()
    );
    println!(
        "{:<72} {:>5} {:>10} {:>10} {:>7}",
        "function", "keys", "fn ms", "sql ms", "ratio"
    );
    let mut worst: f64 = 0.0;
    for key in ["k6", "k1m"] {
        for (function, formula) in formulas::PAIRS {
            let ours = time(
                &ctx,
                &format!("SELECT {key}, {function} FROM t GROUP BY {key}"),
                runs,
            )
            .await?;
            let plain = time(
                &ctx,
                &format!("SELECT {key}, {formula} FROM t GROUP BY {key}"),
                runs,
            )
            .await?;
            let ratio = ours.as_secs_f64() / plain.as_secs_f64();
            worst = worst.max(ratio);
            println!(
                "{function:<72} {:>5} {:>10.1} {:>10.1} {ratio:>7.2}",
                if key == "k6" { "6" } else { "1M" },
                ours.as_secs_f64() * 1e3,
                plain.as_secs_f64() * 1e3,
            );
        }
    }
    println!("worst ratio {worst:.2} (target <= 1.10)");
    Ok(())
}
