//! The methods of a scalar function that wraps another (`self.inner: Arc<dyn ScalarUDFImpl>`) and changes
//! only how it is invoked: its name, types, documentation and planning properties are the inner one's. Each
//! wrapper writes `invoke_with_args`, `with_updated_config` and `simplify` itself (they differ: `date_trunc`
//! forwards the last two, cxsql's `bounded` wrappers keep themselves in place and their results unfolded).
//! Exported (hidden) for cxsql's engine, whose memory-bounded wrappers share it.

#[macro_export]
#[doc(hidden)]
macro_rules! forward_scalar_udf {
    () => {
        fn name(&self) -> &str {
            self.inner.name()
        }

        #[allow(deprecated)] // Forwarded while DataFusion still has it.
        fn display_name(
            &self,
            args: &[datafusion::logical_expr::Expr],
        ) -> datafusion::common::Result<String> {
            self.inner.display_name(args)
        }

        fn schema_name(
            &self,
            args: &[datafusion::logical_expr::Expr],
        ) -> datafusion::common::Result<String> {
            self.inner.schema_name(args)
        }

        fn signature(&self) -> &datafusion::logical_expr::Signature {
            self.inner.signature()
        }

        fn return_type(
            &self,
            arg_types: &[datafusion::arrow::datatypes::DataType],
        ) -> datafusion::common::Result<datafusion::arrow::datatypes::DataType> {
            self.inner.return_type(arg_types)
        }

        fn return_field_from_args(
            &self,
            args: datafusion::logical_expr::ReturnFieldArgs,
        ) -> datafusion::common::Result<datafusion::arrow::datatypes::FieldRef> {
            self.inner.return_field_from_args(args)
        }

        #[allow(deprecated)] // Forwarded while DataFusion still has it.
        fn is_nullable(
            &self,
            args: &[datafusion::logical_expr::Expr],
            schema: &dyn datafusion::common::ExprSchema,
        ) -> bool {
            self.inner.is_nullable(args, schema)
        }

        fn is_strict(&self) -> bool {
            self.inner.is_strict()
        }

        fn aliases(&self) -> &[String] {
            self.inner.aliases()
        }

        fn preimage(
            &self,
            args: &[datafusion::logical_expr::Expr],
            lit_expr: &datafusion::logical_expr::Expr,
            info: &datafusion::logical_expr::simplify::SimplifyContext,
        ) -> datafusion::common::Result<datafusion::logical_expr::preimage::PreimageResult> {
            self.inner.preimage(args, lit_expr, info)
        }

        fn conditional_arguments<'a>(
            &self,
            args: &'a [datafusion::logical_expr::Expr],
        ) -> Option<(
            Vec<&'a datafusion::logical_expr::Expr>,
            Vec<&'a datafusion::logical_expr::Expr>,
        )> {
            self.inner.conditional_arguments(args)
        }

        fn short_circuits(&self) -> bool {
            self.inner.short_circuits()
        }

        fn evaluate_bounds(
            &self,
            input: &[&datafusion::logical_expr::interval_arithmetic::Interval],
        ) -> datafusion::common::Result<datafusion::logical_expr::interval_arithmetic::Interval> {
            self.inner.evaluate_bounds(input)
        }

        fn propagate_constraints(
            &self,
            interval: &datafusion::logical_expr::interval_arithmetic::Interval,
            inputs: &[&datafusion::logical_expr::interval_arithmetic::Interval],
        ) -> datafusion::common::Result<
            Option<Vec<datafusion::logical_expr::interval_arithmetic::Interval>>,
        > {
            self.inner.propagate_constraints(interval, inputs)
        }

        fn struct_field_mapping(
            &self,
            literal_args: &[Option<datafusion::common::ScalarValue>],
        ) -> Option<datafusion::logical_expr::StructFieldMapping> {
            self.inner.struct_field_mapping(literal_args)
        }

        fn output_ordering(
            &self,
            inputs: &[datafusion::logical_expr::sort_properties::ExprProperties],
        ) -> datafusion::common::Result<datafusion::logical_expr::sort_properties::SortProperties> {
            self.inner.output_ordering(inputs)
        }

        fn preserves_lex_ordering(
            &self,
            inputs: &[datafusion::logical_expr::sort_properties::ExprProperties],
        ) -> datafusion::common::Result<bool> {
            self.inner.preserves_lex_ordering(inputs)
        }

        fn strictly_order_preserving(
            &self,
            inputs: &[datafusion::logical_expr::sort_properties::ExprProperties],
        ) -> datafusion::common::Result<bool> {
            self.inner.strictly_order_preserving(inputs)
        }

        fn coerce_types(
            &self,
            arg_types: &[datafusion::arrow::datatypes::DataType],
        ) -> datafusion::common::Result<Vec<datafusion::arrow::datatypes::DataType>> {
            self.inner.coerce_types(arg_types)
        }

        fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
            self.inner.documentation()
        }

        fn placement(
            &self,
            args: &[datafusion::logical_expr::ExpressionPlacement],
        ) -> datafusion::logical_expr::ExpressionPlacement {
            self.inner.placement(args)
        }
    };
}
