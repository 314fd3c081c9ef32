//! The shell, scripted through its standard input.

use crate::util::*;

#[test]
fn shell_runs_statements_and_commands_from_its_input() {
    let script = "SELECT channel,\n  nps(nps_score) AS nps\nFROM surveys GROUP BY channel ORDER BY 1;\n\
                  \\timing\n\\format csv\nSELECT nps(12);\nSELECT 41 + 1 AS answer;\n\\d\n\\d servqual\n\\f fcr_rate\n\
                  \\nonsense\nCREATE VIEW chat AS SELECT * FROM surveys WHERE channel = 'chat';\n\\d\n\\q\nSELECT 'after quit';\n";
    let out = cxsql_in(&root(), &["shell"], Some(script));
    // Two statements failed: the others ran, and the script's exit code says so.
    out.assert_fails(1, "2 of 12 statements of the script failed");
    assert!(
        out.stdout.contains("| channel | nps"),
        "multi-line statement as a table: {}",
        out.stdout
    );
    assert!(out.stdout.contains("timing on") && out.stdout.contains("format csv"));
    assert!(
        out.stderr
            .contains("Error: Execution error: nps: score 12 is outside"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("answer\n42\n1 row in "),
        "csv and timing after an error: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "name,kind,location\nagents,parquet,data/agents.parquet\ncustomers,parquet,data/customers.parquet\n"
        ),
        "\\d lists tables through the writer, in the shell's format: {}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("column_name,data_type,is_nullable\nresponse_id,Int64,NO\n"),
        "\\d NAME shows columns with their nullability: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nexpectation,Int32,YES\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("### `fcr_rate(x)`"),
        "\\f shows documentation"
    );
    assert!(
        out.stderr.contains("unknown command \\nonsense"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains(
            "name,kind,location\nagents,parquet,data/agents.parquet\nchat,view,\ncustomers,parquet,"
        ),
        "a created view is listed: {}",
        out.stdout
    );
    assert!(!out.stdout.contains("after quit"), "\\q quits");

    // No command at all starts the shell too.
    let bare = cxsql_in(&root(), &[], Some("SELECT 7 AS seven;\n"));
    assert_eq!(bare.code, 0, "{}", bare.stderr);
    assert!(bare.stdout.contains("| seven |"), "{}", bare.stdout);

    // In the default table format, listings are aligned tables, as query results are.
    let listed = cxsql_in(
        &root(),
        &["shell"],
        Some("\\d\n\\d tickets\n\\format parquet\n"),
    );
    // `\format parquet` failed: a script's exit code says so.
    assert_eq!(listed.code, 1, "{}", listed.stderr);
    assert!(
        listed
            .stdout
            .contains("| name           | kind    | location")
            && listed
                .stdout
                .contains("| created_at        | Timestamp(µs, \"UTC\") | NO          |"),
        "{}",
        listed.stdout
    );
    assert!(
        listed.stderr.contains("parquet is not shown in a shell"),
        "{}",
        listed.stderr
    );
}
