//! `date_trunc` with a fast path for UTC timestamps.
//!
//! DataFusion 55's `date_trunc` truncates a timestamp that carries a time zone to hour, day, week, month, quarter
//! or year one value at a time through chrono's zone-aware calendar, even when the zone is UTC: on the canonical
//! `timestamp[µs, UTC]` columns that made `date_trunc('month', submitted_at)` four times slower than the
//! truncation itself (0.8 s against 0.17 s on 9 million rows). UTC has no offsets and no daylight-saving changes,
//! so truncating in UTC is truncating the zone-less value: this wrapper hands the built-in function the same
//! numbers without the zone (a metadata change, no copy), and puts the zone back on the result. Every other
//! input, and every other method (signature, simplification, ordering, documentation), is the built-in's.

use std::sync::Arc;

use datafusion::arrow::array::{Array, make_array};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::udf_eq::UdfEq;
use datafusion::logical_expr::{ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl};

/// The built-in `date_trunc`, with UTC inputs truncated as zone-less values.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UtcDateTrunc {
    inner: UdfEq<Arc<dyn ScalarUDFImpl>>,
}

impl UtcDateTrunc {
    /// Wraps DataFusion's `date_trunc`.
    pub fn new() -> Self {
        let builtin = datafusion::functions::datetime::date_trunc();
        Self {
            inner: Arc::clone(builtin.inner()).into(),
        }
    }

    /// The wrapper as a function to register (it replaces the built-in of the same name).
    pub fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(Self::new())
    }
}

impl Default for UtcDateTrunc {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a time zone name is UTC itself (no offset ever, no daylight-saving time).
fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "+00:00" | "Etc/UTC")
}

/// `tz` when it is UTC.
fn utc_zone(data_type: &DataType) -> Option<Arc<str>> {
    match data_type {
        DataType::Timestamp(_, Some(tz)) if is_utc(tz) => Some(Arc::clone(tz)),
        _ => None,
    }
}

/// The same timestamps with time zone `tz` (`None`: without one); the values are untouched.
fn with_zone(value: ColumnarValue, tz: Option<Arc<str>>) -> Result<ColumnarValue> {
    Ok(match value {
        // Any unit: only the type's zone changes, the buffers are shared.
        ColumnarValue::Array(array) => match array.data_type() {
            DataType::Timestamp(unit, _) => {
                let data = array
                    .to_data()
                    .into_builder()
                    .data_type(DataType::Timestamp(*unit, tz))
                    .build()?;
                ColumnarValue::Array(make_array(data))
            }
            _ => ColumnarValue::Array(array),
        },
        ColumnarValue::Scalar(scalar) => ColumnarValue::Scalar(match scalar {
            ScalarValue::TimestampSecond(v, _) => ScalarValue::TimestampSecond(v, tz),
            ScalarValue::TimestampMillisecond(v, _) => ScalarValue::TimestampMillisecond(v, tz),
            ScalarValue::TimestampMicrosecond(v, _) => ScalarValue::TimestampMicrosecond(v, tz),
            ScalarValue::TimestampNanosecond(v, _) => ScalarValue::TimestampNanosecond(v, tz),
            other => other,
        }),
    })
}

#[warn(clippy::missing_trait_methods)] // Delegates, so it implements every trait method.
impl ScalarUDFImpl for UtcDateTrunc {
    crate::forward_scalar_udf!();

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = args.args.get(1).and_then(|v| utc_zone(&v.data_type()));
        let Some(zone) = zone else {
            return self.inner.invoke_with_args(args);
        };
        let value = args.args.remove(1);
        args.args.insert(1, with_zone(value, None)?);
        let field = &args.arg_fields[1];
        let plain = match field.data_type() {
            DataType::Timestamp(unit, _) => DataType::Timestamp(*unit, None),
            other => other.clone(),
        };
        args.arg_fields[1] = Arc::new(Field::new(field.name(), plain.clone(), field.is_nullable()));
        let return_field = Arc::clone(&args.return_field);
        args.return_field = Arc::new(Field::new(
            return_field.name(),
            plain,
            return_field.is_nullable(),
        ));
        with_zone(self.inner.invoke_with_args(args)?, Some(zone))
    }

    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        self.inner.with_updated_config(config)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.inner.simplify(args, info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use datafusion::arrow::datatypes::FieldRef;

    use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array, PrimitiveArray};
    use datafusion::arrow::datatypes::{
        ArrowTimestampType, TimestampMicrosecondType, TimestampMillisecondType,
        TimestampNanosecondType, TimestampSecondType,
    };
    use rand::{Rng, SeedableRng};

    const GRANULARITIES: [&str; 10] = [
        "microsecond",
        "millisecond",
        "second",
        "minute",
        "hour",
        "day",
        "week",
        "month",
        "quarter",
        "year",
    ];

    fn call(udf: &dyn ScalarUDFImpl, granularity: &str, value: ColumnarValue) -> ColumnarValue {
        let rows = match &value {
            ColumnarValue::Array(a) => a.len(),
            ColumnarValue::Scalar(_) => 1,
        };
        let args = vec![
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(granularity.to_string()))),
            value,
        ];
        let arg_fields: Vec<FieldRef> = args
            .iter()
            .map(|a| Arc::new(Field::new("a", a.data_type(), true)))
            .collect();
        let return_field = Arc::new(Field::new("r", arg_fields[1].data_type().clone(), true));
        udf.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows: rows,
            return_field,
            config_options: Arc::new(ConfigOptions::default()),
        })
        .expect("date_trunc runs")
    }

    fn as_array(value: ColumnarValue) -> ArrayRef {
        value.into_array(1).expect("an array")
    }

    /// Random instants from 1900 to 2100 (both signs of the epoch), with NULLs, in `T`'s unit.
    fn instants<T: ArrowTimestampType>(per_second: i64, tz: Option<&str>) -> ArrayRef {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let seconds =
            Int64Array::from_iter((0..4000).map(|i| {
                (i % 17 != 0).then(|| rng.random_range(-2_208_988_800_i64..4_102_444_800))
            }));
        let values: PrimitiveArray<T> = seconds
            .iter()
            .map(|s| s.map(|s| s * per_second + (per_second - 1) / 3))
            .collect();
        Arc::new(values.with_timezone_opt(tz.map(Arc::<str>::from)))
    }

    fn all_units(tz: Option<&str>) -> Vec<ArrayRef> {
        vec![
            instants::<TimestampSecondType>(1, tz),
            instants::<TimestampMillisecondType>(1_000, tz),
            instants::<TimestampMicrosecondType>(1_000_000, tz),
            instants::<TimestampNanosecondType>(1_000_000_000, tz),
        ]
    }

    #[test]
    fn utc_inputs_give_the_builtin_result_with_the_zone_kept() {
        let builtin = datafusion::functions::datetime::date_trunc();
        let fast = UtcDateTrunc::new();
        for zone in ["UTC", "+00:00", "Etc/UTC"] {
            for input in all_units(Some(zone)) {
                for granularity in GRANULARITIES {
                    let expected = as_array(call(
                        builtin.inner().as_ref(),
                        granularity,
                        ColumnarValue::Array(Arc::clone(&input)),
                    ));
                    let got = as_array(call(
                        &fast,
                        granularity,
                        ColumnarValue::Array(Arc::clone(&input)),
                    ));
                    assert_eq!(got.data_type(), input.data_type(), "{granularity} {zone}");
                    assert_eq!(
                        &got,
                        &expected,
                        "{granularity} {zone} {}",
                        input.data_type()
                    );
                    assert_eq!(got.null_count(), input.null_count());
                }
            }
        }
    }

    #[test]
    fn the_fast_path_differs_from_the_zone_less_input_only_in_its_zone() {
        // The check above compares against the slow zone-aware path; this one pins that the values really
        // are truncated (a wrapper that returned its input would fail here).
        let fast = UtcDateTrunc::new();
        let input = instants::<TimestampMicrosecondType>(1_000_000, Some("UTC"));
        let month = as_array(call(&fast, "month", ColumnarValue::Array(input)));
        let values = month.as_primitive::<TimestampMicrosecondType>();
        for value in values.iter().flatten() {
            let t = datafusion::arrow::temporal_conversions::timestamp_us_to_datetime(value)
                .expect("in range");
            assert_eq!(t.format("%d %H:%M:%S%.f").to_string(), "01 00:00:00");
        }
    }

    #[test]
    fn scalars_and_other_zones_are_the_builtin_s() {
        let builtin = datafusion::functions::datetime::date_trunc();
        let fast = UtcDateTrunc::new();
        for value in [
            ScalarValue::TimestampMicrosecond(Some(1_718_000_123_456_789), Some("UTC".into())),
            ScalarValue::TimestampMicrosecond(None, Some("UTC".into())),
            ScalarValue::TimestampSecond(Some(-1_000_000_001), Some("+00:00".into())),
            ScalarValue::TimestampMicrosecond(
                Some(1_718_000_123_456_789),
                Some("Europe/Paris".into()),
            ),
            ScalarValue::TimestampMicrosecond(Some(1_718_000_123_456_789), None),
        ] {
            for granularity in GRANULARITIES {
                let expected = call(
                    builtin.inner().as_ref(),
                    granularity,
                    ColumnarValue::Scalar(value.clone()),
                );
                let got = call(&fast, granularity, ColumnarValue::Scalar(value.clone()));
                match (got, expected) {
                    (ColumnarValue::Scalar(g), ColumnarValue::Scalar(e)) => {
                        assert_eq!(g, e, "{granularity} {value:?}")
                    }
                    _ => panic!("a scalar in gives a scalar out"),
                }
            }
        }
        for input in all_units(Some("America/New_York")) {
            for granularity in GRANULARITIES {
                let expected = as_array(call(
                    builtin.inner().as_ref(),
                    granularity,
                    ColumnarValue::Array(Arc::clone(&input)),
                ));
                let got = as_array(call(
                    &fast,
                    granularity,
                    ColumnarValue::Array(Arc::clone(&input)),
                ));
                assert_eq!(&got, &expected);
            }
        }
    }

    #[tokio::test]
    async fn it_replaces_the_builtin_in_sql() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_udf(UtcDateTrunc::udf());
        let batches = ctx
            .sql(
                "SELECT date_trunc('month', TIMESTAMP '2024-02-29T23:59:59Z') = TIMESTAMP '2024-02-01T00:00:00Z', \
                 datetrunc('year', arrow_cast(TIMESTAMP '1969-12-31T12:00:00Z', 'Timestamp(Second, Some(\"UTC\"))'))",
            )
            .await
            .expect("plans")
            .collect()
            .await
            .expect("runs");
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .expect("formats")
            .to_string();
        assert!(text.contains("| true "), "{text}");
        assert!(text.contains("1969-01-01T00:00:00Z"), "{text}");
    }
}
