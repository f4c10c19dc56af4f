//! A spool file: `ZENSPOOL`, a format version, the signal, the destination,
//! the payload (an OTLP protobuf request) and a SHA-256 prefix of all
//! before it.

use sha2::{Digest, Sha256};

use super::signal::Signal;

const MAGIC: &[u8; 8] = b"ZENSPOOL";
const VERSION: u8 = 1;
const CHECKSUM_LEN: usize = 8;

pub(super) fn encode(signal: Signal, destination: &str, payload: &[u8]) -> Vec<u8> {
    let destination = &destination.as_bytes()[..destination.len().min(usize::from(u16::MAX))];
    let mut bytes = Vec::with_capacity(MAGIC.len() + 8 + destination.len() + payload.len() + CHECKSUM_LEN);
    bytes.extend_from_slice(MAGIC);
    bytes.push(VERSION);
    bytes.push(signal.code());
    bytes.extend_from_slice(&u16::try_from(destination.len()).unwrap_or(u16::MAX).to_le_bytes());
    bytes.extend_from_slice(destination);
    bytes.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
    bytes.extend_from_slice(payload);
    let checksum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&checksum[..CHECKSUM_LEN]);
    bytes
}

pub(super) fn decode(bytes: &[u8], destination: &str) -> Result<(Signal, Vec<u8>), String> {
    let mut rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a zen-telemetry spool file")?;
    let mut take = |n: usize, what: &str| -> Result<&[u8], String> {
        if rest.len() < n {
            return Err(format!("truncated in the {what}"));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let version = take(1, "header")?[0];
    if version != VERSION {
        return Err(format!("format version {version}, expected {VERSION}"));
    }
    let signal = Signal::from_code(take(1, "header")?[0]).ok_or("an unknown signal")?;
    let length = take(2, "header")?;
    let written_for = take(usize::from(u16::from_le_bytes([length[0], length[1]])), "destination")?;
    let length = take(4, "header")?;
    let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]);
    let payload = take(usize::try_from(length).unwrap_or(usize::MAX), "payload")?.to_vec();
    let checksum = take(CHECKSUM_LEN, "checksum")?.to_vec();
    if !rest.is_empty() {
        return Err("bytes after the checksum".to_owned());
    }
    let body = &bytes[..bytes.len() - CHECKSUM_LEN];
    if Sha256::digest(body)[..CHECKSUM_LEN] != checksum[..] {
        return Err("the checksum does not match".to_owned());
    }
    if written_for != destination.as_bytes() {
        return Err("written for another destination".to_owned());
    }
    Ok((signal, payload))
}
