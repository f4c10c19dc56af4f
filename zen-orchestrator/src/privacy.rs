//! What the orchestrator may say about a value in telemetry: a slash-command
//! name (never its arguments) and truncated SHA-256 hashes of identifiers.

use sha2::{Digest, Sha256};

/// The slash-command name of a command text: its first token when that starts
/// with `/` and looks like a command name; `None` for free prompts.
pub fn slash_command_name(text: &str) -> Option<String> {
    let first = text.split_whitespace().next()?;
    let valid = first.len() > 1
        && first.len() <= 64
        && first.starts_with('/')
        && first[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '/'));
    valid.then(|| first.to_owned())
}

/// The first 12 hex digits of the SHA-256 of `value`: enough to group runs,
/// not to recover the value.
pub fn short_hash(value: &str) -> String {
    let digest = sha256(value.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4) of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha256(long)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(short_hash("abc"), "ba7816bf8f01");
    }

    #[test]
    fn slash_command_name_is_only_the_first_token() {
        assert_eq!(
            slash_command_name("/review src/secret.rs please").as_deref(),
            Some("/review")
        );
        assert_eq!(slash_command_name("  /ns:cmd-1").as_deref(), Some("/ns:cmd-1"));
        assert_eq!(slash_command_name("explain this code"), None);
        assert_eq!(slash_command_name("/"), None);
        assert_eq!(slash_command_name("/weird$chars"), None);
    }
}
