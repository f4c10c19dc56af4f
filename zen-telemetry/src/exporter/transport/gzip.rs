//! gzip request bodies, for both transports.

use bytes::Bytes;

/// A body compressed with gzip.
pub(crate) fn gzipped(payload: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(payload.len() / 4), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(payload);
    Bytes::from(encoder.finish().unwrap_or_default())
}
