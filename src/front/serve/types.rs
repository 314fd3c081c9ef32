//! The types clients see: SQL type names on every field, the XDBC type list, bound parameter values
//! converted to the types the statement gives them, and schemas as Flight bytes.

use std::sync::Arc;

use arrow_flight::sql::metadata::{XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder};
use arrow_flight::{IpcMessage, SchemaAsIpc};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use datafusion::common::ScalarValue;
use tonic::Status;

use crate::engine::params::ParamValue;
use crate::error::{Error, Result};

/// The field metadata key Flight SQL clients (JDBC's `getColumnTypeName`, ADBC) read a column's SQL type
/// name from.
pub(super) const TYPE_NAME: &str = "ARROW:FLIGHT:SQL:TYPE_NAME";

/// `schema` with each field's SQL type name in its metadata (see [`sql_type_name`]).
pub(super) fn with_type_names(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut metadata = f.metadata().clone();
            metadata.insert(TYPE_NAME.to_string(), sql_type_name(f.data_type()));
            f.as_ref().clone().with_metadata(metadata)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The SQL name of an Arrow type, as DataFusion's SQL writes it (`VARCHAR`, `BIGINT`, `TIMESTAMP`).
pub(super) fn sql_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Null => "NULL".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "TINYINT UNSIGNED".into(),
        DataType::UInt16 => "SMALLINT UNSIGNED".into(),
        DataType::UInt32 => "INTEGER UNSIGNED".into(),
        DataType::UInt64 => "BIGINT UNSIGNED".into(),
        DataType::Float16 | DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "VARBINARY".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        DataType::Interval(_) | DataType::Duration(_) => "INTERVAL".into(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => format!("{}[]", sql_type_name(f.data_type())),
        DataType::Struct(_) => "STRUCT".into(),
        DataType::Map(_, _) => "MAP".into(),
        DataType::Dictionary(_, value) => sql_type_name(value),
        other => other.to_string().to_uppercase(),
    }
}

/// The SQL types the server's SQL accepts, as `GetXdbcTypeInfo` describes them to JDBC/ODBC clients.
pub(super) fn xdbc_type_info() -> Result<XdbcTypeInfoData> {
    use arrow_flight::sql::{Nullable, Searchable, XdbcDataType as X};
    let types = [
        ("BOOLEAN", X::XdbcBit, None, false),
        ("TINYINT", X::XdbcTinyint, None, false),
        ("SMALLINT", X::XdbcSmallint, None, false),
        ("INTEGER", X::XdbcInteger, None, false),
        ("BIGINT", X::XdbcBigint, None, false),
        ("REAL", X::XdbcReal, None, false),
        ("DOUBLE", X::XdbcDouble, None, false),
        (
            "DECIMAL",
            X::XdbcDecimal,
            Some(vec!["precision".to_string(), "scale".to_string()]),
            false,
        ),
        ("VARCHAR", X::XdbcVarchar, None, true),
        ("VARBINARY", X::XdbcVarbinary, None, false),
        ("DATE", X::XdbcDate, None, false),
        ("TIME", X::XdbcTime, None, false),
        ("TIMESTAMP", X::XdbcTimestamp, None, false),
        ("INTERVAL", X::XdbcInterval, None, false),
    ];
    let mut builder = XdbcTypeInfoDataBuilder::new();
    for (name, data_type, create_params, text) in types {
        builder.append(XdbcTypeInfo {
            type_name: name.to_string(),
            data_type,
            column_size: None,
            literal_prefix: text.then(|| "'".to_string()),
            literal_suffix: text.then(|| "'".to_string()),
            create_params,
            nullable: Nullable::NullabilityNullable,
            case_sensitive: text,
            searchable: if text {
                Searchable::Full
            } else {
                Searchable::Basic
            },
            unsigned_attribute: None,
            fixed_prec_scale: false,
            auto_increment: None,
            local_type_name: Some(name.to_string()),
            minimum_scale: None,
            maximum_scale: None,
            sql_data_type: data_type,
            datetime_subcode: None,
            num_prec_radix: None,
            interval_precision: None,
        });
    }
    builder
        .build()
        .map_err(|e| Error::Internal(format!("the server's type info: {e}")))
}

/// A bound parameter value as a plain value: a client's dense union (the DB-API driver sends each
/// parameter as one) unwrapped, then converted to the type the statement gives the parameter.
pub(super) fn parameter_value(
    name: &str,
    value: ScalarValue,
    declared: Option<&DataType>,
) -> std::result::Result<ScalarValue, Status> {
    let value = match value {
        ScalarValue::Union(Some((_, inner)), _, _) => *inner,
        ScalarValue::Union(None, _, _) => ScalarValue::Null,
        other => other,
    };
    let Some(declared) = declared else {
        return Ok(value);
    };
    if value.is_null() || &value.data_type() == declared {
        return Ok(value);
    }
    crate::engine::params::convert(&ParamValue::Value(value.clone()), declared).map_err(|e| {
        Status::invalid_argument(format!(
            "parameter {name}: {value} is not a value of its type {}: {e}",
            sql_type_name(declared)
        ))
    })
}

/// The IPC bytes of a schema, as prepared statements carry them.
pub(super) fn schema_bytes(schema: &Schema) -> std::result::Result<prost::bytes::Bytes, Status> {
    let message: IpcMessage = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: datafusion::arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(message.0)
}

/// The status for an error: the client's mistakes are invalid arguments, the rest internal; secrets
/// redacted.
pub(super) fn to_status(e: &Error) -> Status {
    let text = e.to_string();
    let message = crate::guard::redact(&text).to_string();
    match e {
        Error::Internal(_) | Error::Io { .. } => Status::internal(message),
        _ => Status::invalid_argument(message),
    }
}
