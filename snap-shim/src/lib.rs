//! The part of the `snap` crate's API that parquet 59 uses, over `snipsnap`'s faster decoder.
//!
//! parquet's Snappy codec calls `snap::raw::{Decoder, Encoder, decompress_len, max_compress_len}` and converts
//! `snap::Error`; the workspace's `[patch.crates-io]` puts this crate in place of `snap`, so Parquet pages are
//! decoded by `snipsnap` without a fork of parquet. `benches/snappy` checks that both decoders give the same
//! bytes on real pages and that corrupt input is an error, never a panic, and measures the difference.

/// Raw Snappy blocks (no framing), as Parquet stores its pages.
pub mod raw {
    pub use snipsnap::raw::{Decoder, Encoder};
    pub use snipsnap::{decompress_len, max_compress_len};
}

/// A Snappy encoding or decoding error (converted by parquet into its own error).
pub use snipsnap::Error;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::raw::{Decoder, Encoder, decompress_len, max_compress_len};

    /// Round trip through the calls parquet makes: a buffer of `max_compress_len`, `decompress_len` of the
    /// block, and a decode into a buffer of exactly that length.
    #[test]
    fn parquets_calls_round_trip_a_page() {
        let page: Vec<u8> = (0u32..50_000)
            .flat_map(|i| (i64::from(i) * 7919 % 1000).to_le_bytes())
            .collect();
        let mut compressed = vec![0; max_compress_len(page.len())];
        let n = Encoder::new()
            .compress(&page, &mut compressed)
            .expect("compresses");
        compressed.truncate(n);
        assert!(
            n < page.len() / 2,
            "the page compresses: {n} of {} bytes",
            page.len()
        );
        assert_eq!(decompress_len(&compressed).expect("length"), page.len());
        let mut out = vec![0; page.len()];
        let written = Decoder::new()
            .decompress(&compressed, &mut out)
            .expect("decodes");
        assert_eq!(written, page.len());
        assert!(out == page);
    }

    /// A too-small output buffer and a truncated block are errors, as with `snap`.
    #[test]
    fn short_buffers_and_truncated_blocks_are_errors() {
        let page = vec![3u8; 10_000];
        let compressed = Encoder::new().compress_vec(&page).expect("compresses");
        let mut short = vec![0; page.len() - 1];
        assert!(Decoder::new().decompress(&compressed, &mut short).is_err());
        let mut out = vec![0; page.len()];
        assert!(
            Decoder::new()
                .decompress(&compressed[..compressed.len() / 2], &mut out)
                .is_err()
        );
        assert!(decompress_len(&[]).is_err());
    }
}
