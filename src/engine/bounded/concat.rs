//! The `||` operator on strings, planned as a function whose result is reserved first (chains of `||` double
//! a value at each step).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::Array;
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::sql::sqlparser::ast::BinaryOperator;

use crate::engine::bounded::size::{Size, broadcast, estimate, reserve};

/// `a || b` on text as a function: `concat`'s result, NULL where either side is NULL (as `||` is), with
/// the size reserved as for `concat`.
#[derive(Debug)]
pub(super) struct ConcatOperator {
    pub(super) concat: Arc<ScalarUDF>,
    pub(super) signature: Signature,
    pub(super) pool: Arc<dyn MemoryPool>,
}

impl PartialEq for ConcatOperator {
    fn eq(&self, other: &Self) -> bool {
        self.concat == other.concat
    }
}

impl Eq for ConcatOperator {}

impl Hash for ConcatOperator {
    fn hash<H: Hasher>(&self, state: &mut H) {
        "cx_concat_operator".hash(state);
    }
}

impl ScalarUDFImpl for ConcatOperator {
    fn name(&self) -> &str {
        "cx_concat_operator"
    }

    fn display_name(&self, args: &[Expr]) -> Result<String> {
        Ok(args
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" || "))
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        let names = args
            .iter()
            .map(|a| a.schema_name().to_string())
            .collect::<Vec<_>>();
        Ok(names.join(" || "))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.concat.return_type(arg_types)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        // Text stays as it is; anything else is written as text (`'a' || 1` is `a1`), as `||` does.
        Ok(arg_types
            .iter()
            .map(|t| match t {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => t.clone(),
                _ => DataType::Utf8,
            })
            .collect())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let bytes = estimate(Size::Concat, &args.args, rows)?.saturating_mul(broadcast(&args));
        let _reserved = reserve(&self.pool, "the || operator", bytes)?;
        // `||` is NULL where either side is (concat reads NULL as empty text): a NULL constant makes every
        // row NULL; columns contribute their NULL rows.
        if args
            .args
            .iter()
            .any(|a| matches!(a, ColumnarValue::Scalar(v) if v.is_null()))
        {
            let data_type = args.return_field.data_type().clone();
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&data_type)?));
        }
        let mask = args
            .args
            .iter()
            .fold(None, |mask: Option<NullBuffer>, a| match a {
                ColumnarValue::Array(a) => {
                    NullBuffer::union(mask.as_ref(), a.logical_nulls().as_ref())
                }
                ColumnarValue::Scalar(_) => mask,
            });
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let result = self.concat.invoke_with_args(args)?;
        if scalar {
            return Ok(result);
        }
        let result = result.to_array(rows)?;
        let result = match mask.filter(|m| m.null_count() > 0) {
            Some(mask) => {
                let mask = NullBuffer::union(Some(&mask), result.logical_nulls().as_ref());
                datafusion::arrow::array::make_array(
                    result.to_data().into_builder().nulls(mask).build()?,
                )
            }
            None => result,
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// Plans `a || b` on text as [`ConcatOperator`] (lists are left to DataFusion's own planner, which comes
/// first).
#[derive(Debug)]
pub(super) struct BoundedConcatPlanner {
    pub(super) operator: Arc<ScalarUDF>,
}

impl ExprPlanner for BoundedConcatPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        if expr.op != BinaryOperator::StringConcat {
            return Ok(PlannerResult::Original(expr));
        }
        let text = |e: &Expr| {
            e.get_type(schema).is_ok_and(|t| {
                matches!(
                    t,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
                )
            })
        };
        if !(text(&expr.left) || text(&expr.right))
            || [&expr.left, &expr.right]
                .iter()
                .any(|e| e.get_type(schema).is_ok_and(|t| t.is_nested()))
        {
            return Ok(PlannerResult::Original(expr));
        }
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::clone(&self.operator), vec![expr.left, expr.right]),
        )))
    }
}
