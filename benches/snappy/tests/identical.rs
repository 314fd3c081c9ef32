//! `snipsnap` decodes what `snap` decodes, byte for byte, and never panics on corrupt input.
//!
//!     cargo test --release --manifest-path benches/snappy/Cargo.toml

use std::path::PathBuf;

use cxsql_snappy_bench::{Decoder, Rng, generated_pages, snappy_pages};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every Snappy page of the project's Parquet files (`data/`, test fixtures).
#[test]
fn the_projects_parquet_pages_decode_identically() {
    let mut files = Vec::new();
    for dir in ["data", "tests/fixtures", "examples"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 4, "the project's Parquet files: {files:?}");
    let mut pages = 0;
    for file in &files {
        for page in snappy_pages(file).expect("pages") {
            let expected = Decoder::Snap
                .decode(&page.compressed, page.uncompressed_len)
                .expect("snap decodes");
            assert_eq!(
                expected.len(),
                page.uncompressed_len,
                "{}: {}",
                file.display(),
                page.kind
            );
            for decoder in Decoder::ALL {
                let got = decoder
                    .decode(&page.compressed, page.uncompressed_len)
                    .expect("decodes");
                assert!(
                    got == expected,
                    "{}: {}: {} differs",
                    file.display(),
                    page.kind,
                    decoder.name()
                );
            }
            pages += 1;
        }
    }
    assert!(pages >= 20, "only {pages} Snappy pages in {files:?}");
}

/// Pages of Parquet's shapes, compressed by either encoder, decode to the original under every decoder.
#[test]
fn generated_pages_round_trip_through_both_encoders() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, page) in generated_pages(&mut rng) {
        let by_snap = snap::raw::Encoder::new()
            .compress_vec(&page)
            .expect("snap compresses");
        let by_snipsnap = snipsnap::raw::Encoder::new()
            .compress_vec(&page)
            .expect("snipsnap compresses");
        for (encoder, compressed) in [("snap", &by_snap), ("snipsnap", &by_snipsnap)] {
            assert_eq!(
                snipsnap::decompress_len(compressed).expect("length"),
                page.len()
            );
            for decoder in Decoder::ALL {
                let got = decoder.decode(compressed, page.len()).expect("decodes");
                assert!(
                    got == page,
                    "{name}: compressed by {encoder}, {} decodes differently",
                    decoder.name()
                );
            }
        }
    }
}

/// Corrupt input (flipped bytes, truncations, bogus lengths, random bytes): every decoder returns an error or
/// some output, never panics; where both `snap` and `snipsnap` accept an input, their outputs are equal.
#[test]
fn corrupt_input_is_an_error_never_a_panic() {
    let mut rng = Rng(0x5eed_0fc0_ffee);
    let pages = generated_pages(&mut rng);
    let mut checked = 0;
    for round in 0..4000 {
        let (_, page) = &pages[rng.below(pages.len())];
        let mut input = snap::raw::Encoder::new()
            .compress_vec(page)
            .expect("compresses");
        match round % 4 {
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(input.len());
                    input[i] ^= 1 << rng.below(8);
                }
            }
            1 => input.truncate(rng.below(input.len())),
            2 => {
                let i = rng.below(input.len());
                input[i] = rng.word() as u8;
                if input.len() > 1 {
                    input[0] = rng.word() as u8;
                }
            }
            _ => input = (0..1 + rng.below(300)).map(|_| rng.word() as u8).collect(),
        }
        // The output length parquet would pass: the page header's, which may disagree with the stream's.
        let len = if rng.below(2) == 0 {
            page.len()
        } else {
            rng.below(page.len() + 64)
        };
        let outcomes: Vec<Result<Vec<u8>, String>> = Decoder::ALL
            .into_iter()
            .map(|d| {
                std::panic::catch_unwind(|| d.decode(&input, len))
                    .unwrap_or_else(|_| panic!("{} panicked on corrupt input {input:?}", d.name()))
            })
            .collect();
        if let (Ok(a), Ok(b)) = (&outcomes[0], &outcomes[1]) {
            assert!(
                a == b,
                "snap and snipsnap accept {input:?} with different output"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 4000);
}
