//! Parameter values and SQL type names: what a saved query's `-- param:` header declares and what callers
//! give. Values are typed (`ScalarValue`) or text to be parsed to the declared type; either way they are bound
//! to placeholders, never pasted into SQL.

use std::collections::BTreeMap;

use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::FormatOptions;
use datafusion::common::ScalarValue;
use datafusion::execution::context::SessionState;

/// A parameter value as a caller gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Text, parsed to the declared type (`2024-01-01T00:00:00Z` for a TIMESTAMP).
    Text(String),
    /// A value, cast to the declared type.
    Value(ScalarValue),
}

impl From<&str> for ParamValue {
    fn from(text: &str) -> Self {
        ParamValue::Text(text.to_string())
    }
}

impl From<String> for ParamValue {
    fn from(text: String) -> Self {
        ParamValue::Text(text)
    }
}

impl From<ScalarValue> for ParamValue {
    fn from(value: ScalarValue) -> Self {
        ParamValue::Value(value)
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Text(text) => f.write_str(text),
            ParamValue::Value(value) => write!(f, "{value}"),
        }
    }
}

impl ParamValue {
    /// The value as DataFusion binds it: text as a VARCHAR, a value as it is.
    pub fn to_scalar(&self) -> ScalarValue {
        match self {
            ParamValue::Text(text) => ScalarValue::Utf8(Some(text.clone())),
            ParamValue::Value(value) => value.clone(),
        }
    }
}

/// Parameter values by name.
pub type Params = BTreeMap<String, ParamValue>;

/// The Arrow type the session gives a SQL type name (TIMESTAMP, INT, DOUBLE, INTERVAL, VARCHAR, ...).
pub async fn sql_type(state: &SessionState, sql_type: &str) -> Result<DataType, String> {
    // The type name is the header's, not a value; it is checked to be a type name before planning.
    let plain = sql_type
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '(' | ')' | ','));
    if !plain || sql_type.is_empty() {
        return Err(format!("{sql_type:?} is not a SQL type"));
    }
    let plan = state
        .create_logical_plan(&format!("SELECT CAST(NULL AS {sql_type})"))
        .await
        .map_err(|e| {
            format!(
                "{sql_type} is not a SQL type DataFusion knows ({})",
                e.strip_backtrace()
            )
        })?;
    Ok(plan.schema().field(0).data_type().clone())
}

/// `value` as a value of `data_type`, with Arrow's strict casts (text is parsed, `yesterday` is no TIMESTAMP).
pub fn convert(value: &ParamValue, data_type: &DataType) -> Result<ScalarValue, String> {
    let options = CastOptions {
        safe: false,
        format_options: FormatOptions::default(),
    };
    value
        .to_scalar()
        .cast_to_with_options(data_type, &options)
        .map_err(|e| e.strip_backtrace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_strictly_to_their_type() {
        let int = |v: ParamValue| convert(&v, &DataType::Int32);
        assert_eq!(int("42".into()), Ok(ScalarValue::Int32(Some(42))));
        assert!(int("forty".into()).is_err());
        assert_eq!(
            int(ScalarValue::Int64(Some(7)).into()),
            Ok(ScalarValue::Int32(Some(7)))
        );
        assert!(int(ScalarValue::Int64(Some(i64::MAX)).into()).is_err());
        assert!(convert(&"2021-13-01".into(), &DataType::Date32).is_err());
    }
}
