//! `cxsql`: runs the SQL statements given as arguments, with the customer-service KPI functions registered,
//! and prints each result as a table. (The full command line is built in `src/` by a later issue.)

use std::process::ExitCode;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;

#[tokio::main]
async fn main() -> ExitCode {
    let statements: Vec<String> = std::env::args().skip(1).collect();
    if statements.is_empty() {
        eprintln!("usage: cxsql \"SQL\" [\"SQL\" ...]");
        return ExitCode::from(2);
    }
    let ctx = SessionContext::new();
    cxsql_udfs::register_all(&ctx);
    for sql in &statements {
        let result = async { ctx.sql(sql).await?.collect().await }.await;
        match result.and_then(|batches| Ok(pretty_format_batches(&batches)?)) {
            Ok(table) => println!("{table}"),
            Err(e) => {
                eprintln!("cxsql: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
