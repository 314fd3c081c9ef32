//! Times Snappy decoders on every Snappy page of the Parquet files given, grouped by column and page kind.
//!
//!     cargo run --release --manifest-path benches/snappy/Cargo.toml -- FILE.parquet... [--runs N]
//!
//! Every page is first decoded by every decoder and the outputs compared byte for byte; then each decoder
//! decodes all pages of a group `runs` times (decoders interleaved), and the best time of each is reported as
//! MB/s of decoded output and as the ratio to `snap`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cxsql_snappy_bench::{Decoder, Page, snappy_pages};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut files = Vec::new();
    let mut runs = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            let value = args.next().ok_or("--runs needs a number")?;
            runs = value
                .parse()
                .map_err(|_| format!("--runs: '{value}' is not a number"))?;
        } else {
            files.push(PathBuf::from(arg));
        }
    }
    if files.is_empty() {
        return Err("give one or more Parquet files".into());
    }
    let mut groups: BTreeMap<String, Vec<Page>> = BTreeMap::new();
    for file in &files {
        for page in snappy_pages(file)? {
            groups.entry(page.kind.clone()).or_default().push(page);
        }
    }
    let (mut pages, mut bytes) = (0usize, 0usize);
    for (kind, group) in &groups {
        for page in group {
            let expected = Decoder::Snap.decode(&page.compressed, page.uncompressed_len)?;
            for decoder in Decoder::ALL {
                let got = decoder.decode(&page.compressed, page.uncompressed_len)?;
                if got != expected {
                    return Err(format!(
                        "{kind}: {} decodes a page differently from snap",
                        decoder.name()
                    ));
                }
            }
            pages += 1;
            bytes += page.uncompressed_len;
        }
    }
    println!(
        "{pages} pages, {:.1} MB decoded, identical under all {} decoders",
        mb(bytes),
        Decoder::ALL.len()
    );
    println!("best of {runs}; MB/s of decoded output; ratio = time / snap's time");
    print!("{:<52} {:>8} {:>6}", "column (type, page)", "MB", "ratio");
    for decoder in Decoder::ALL {
        print!(" {:>22}", decoder.name());
    }
    println!();
    let mut totals = [Duration::ZERO; 3];
    let mut per_type: BTreeMap<String, (usize, [Duration; 3])> = BTreeMap::new();
    for (kind, group) in &groups {
        let size: usize = group.iter().map(|p| p.uncompressed_len).sum();
        let mut best = [Duration::MAX; 3];
        for _ in 0..runs {
            for (i, decoder) in Decoder::ALL.into_iter().enumerate() {
                let start = Instant::now();
                for page in group {
                    let out = decoder.decode(&page.compressed, page.uncompressed_len)?;
                    std::hint::black_box(out);
                }
                best[i] = best[i].min(start.elapsed());
            }
        }
        let ty = format!(
            "{}, {}",
            group[0].physical,
            if kind.ends_with("dict)") {
                "dict"
            } else {
                "data"
            }
        );
        let entry = per_type.entry(ty).or_insert((0, [Duration::ZERO; 3]));
        entry.0 += size;
        for i in 0..3 {
            totals[i] += best[i];
            entry.1[i] += best[i];
        }
        report(kind, size, &best);
    }
    println!();
    for (ty, (size, times)) in &per_type {
        report(&format!("all {ty}"), *size, times);
    }
    report("all pages", bytes, &totals);
    Ok(())
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn report(name: &str, bytes: usize, times: &[Duration; 3]) {
    let ratio = times[1].as_secs_f64() / times[0].as_secs_f64();
    print!("{name:<52} {:>8.1} {ratio:>6.2}", mb(bytes));
    for t in times {
        print!(" {:>22.0}", mb(bytes) / t.as_secs_f64());
    }
    println!();
}
