//! Scrubbing of exception messages before they leave the process.
//!
//! Error and panic texts are written by whoever wrote the failing code, not by
//! us, so they can carry anything: a URL with credentials, a config line with
//! a password, the user's e-mail or home directory. Everything recorded as
//! `exception.message` or as a span's status description goes through
//! [`scrub`] first.
//!
//! The scanner is hand-written (no regex engine in the runtime's dependency
//! tree) and byte-oriented: every pattern is ASCII, and the bytes of a
//! multi-byte UTF-8 character are all >= 0x80, so every cut it makes falls on
//! a character boundary.

use std::ops::Range;
use std::sync::OnceLock;

/// Longest message exported, in characters (the `…` marker included).
pub(crate) const MAX_MESSAGE_CHARS: usize = 512;

/// What replaces a secret value.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// What replaces an e-mail address.
pub(crate) const EMAIL: &str = "[EMAIL]";

/// Work is bounded for pathological messages: beyond this many bytes the
/// text could never reach the exported 512 characters anyway.
const SCAN_LIMIT_BYTES: usize = 16 * 1024;

/// Runs of base64/hex at least this long are treated as keys or tokens.
const LONG_RUN: usize = 32;

/// Prefixes of well-known API tokens; the prefix is kept so the reader knows
/// which kind of credential leaked, the rest is redacted.
const TOKEN_PREFIXES: &[&str] = &[
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxs-",
    "AKIA",
    "ASIA",
    "AIza",
    "ya29.",
    "npm_",
    "hf_",
];

/// Key names (matched as a suffix, case-insensitively) whose value is secret.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "apikey",
    "credential",
    "credentials",
    "auth",
    "authorization",
    "cookie",
    "session",
];

/// The message as it may be exported: secrets replaced, the home directory
/// shown as `~`, at most [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn scrub(message: &str) -> String {
    scrub_with_home(message, home())
}

/// [`scrub`] with an explicit home directory, so tests need not touch `HOME`.
pub(crate) fn scrub_with_home(message: &str, home: Option<&str>) -> String {
    let text = bounded(message);
    let text = match home {
        Some(home) => replace(text, &home_ranges(text, home), "~"),
        None => text.to_owned(),
    };
    let text = replace(&text, &url_userinfo_ranges(&text), REDACTED);
    let text = replace(&text, &bearer_ranges(&text), REDACTED);
    let text = replace(&text, &prefixed_token_ranges(&text), REDACTED);
    let text = replace(&text, &key_value_ranges(&text), REDACTED);
    let text = replace(&text, &email_ranges(&text), EMAIL);
    let text = replace(&text, &hex_ranges(&text), REDACTED);
    let text = replace(&text, &base64_ranges(&text), REDACTED);
    truncate(&text, MAX_MESSAGE_CHARS)
}

/// `text` cut to at most `max_chars` characters; a cut text ends in `…`.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) if max_chars == 0 => String::new(),
        Some(_) => {
            let (end, _) = text.char_indices().nth(max_chars - 1).unwrap_or((text.len(), ' '));
            let mut cut = text[..end].to_owned();
            cut.push('…');
            cut
        }
    }
}

/// The home directory the configuration found; only the first call counts
/// (the environment it came from does not change).
pub(crate) fn set_home(home: Option<&std::path::Path>) {
    let home = home.and_then(|home| {
        let home = home.to_str()?.trim_end_matches(['/', '\\']);
        // Too-short values (`/`, empty) would match everywhere.
        (home.len() >= 2).then(|| home.to_owned())
    });
    let _ = HOME.set(home);
}

static HOME: OnceLock<Option<String>> = OnceLock::new();

fn home() -> Option<&'static str> {
    HOME.get().and_then(Option::as_deref)
}

/// The first [`SCAN_LIMIT_BYTES`] of `message`, minus the last word when the
/// cut fell inside it: half a secret would no longer match any pattern.
fn bounded(message: &str) -> &str {
    if message.len() <= SCAN_LIMIT_BYTES {
        return message;
    }
    let mut end = SCAN_LIMIT_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let head = &message[..end];
    match head.rfind(char::is_whitespace) {
        Some(space) => &head[..space],
        None => "",
    }
}

fn replace(text: &str, ranges: &[Range<usize>], with: &str) -> String {
    if ranges.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in ranges {
        if range.start < at {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(with);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_path_char(b: u8) -> bool {
    is_word(b) || b == b'.' || b == b'-'
}

/// Length of the run starting at `from` of bytes matching `class`.
fn run_len(bytes: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    bytes[from..].iter().take_while(|&&b| class(b)).count()
}

fn home_ranges(text: &str, home: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    text.match_indices(home)
        .map(|(start, _)| start..start + home.len())
        // `/home/al` must not eat the start of `/home/alice`.
        .filter(|range| bytes.get(range.end).is_none_or(|&b| !is_path_char(b)))
        .collect()
}

/// `user:password` in `scheme://user:password@host`.
fn url_userinfo_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    text.match_indices("://")
        .filter_map(|(at, _)| {
            let start = at + 3;
            let len = run_len(bytes, start, |b| {
                !b.is_ascii_whitespace() && !matches!(b, b'/' | b'@' | b'?' | b'#')
            });
            (len > 0 && bytes.get(start + len) == Some(&b'@')).then_some(start..start + len)
        })
        .collect()
}

/// The credential after `Bearer ` (any case).
fn bearer_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    lower
        .match_indices("bearer")
        .filter_map(|(at, word)| {
            if at > 0 && is_word(bytes[at - 1]) {
                return None;
            }
            let gap = run_len(bytes, at + word.len(), |b| b == b' ' || b == b'\t');
            if gap == 0 {
                return None;
            }
            let start = at + word.len() + gap;
            let len = run_len(bytes, start, |b| !b.is_ascii_whitespace() && b != b'"' && b != b'\'');
            (len > 0).then_some(start..start + len)
        })
        .collect()
}

/// Tokens with a well-known prefix (`ghp_…`, `sk-…`, `AKIA…`); the prefix stays.
fn prefixed_token_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !is_path_char(bytes[i - 1]);
        let prefix = at_word_start
            .then(|| TOKEN_PREFIXES.iter().find(|p| bytes[i..].starts_with(p.as_bytes())))
            .flatten();
        if let Some(prefix) = prefix {
            let start = i + prefix.len();
            let len = run_len(bytes, start, is_path_char);
            if len >= 16 {
                ranges.push(start..start + len);
                i = start + len;
                continue;
            }
        }
        i += 1;
    }
    ranges
}

/// Values of `password=…`, `api_key: …`, `"secret": "…"` and the like.
fn key_value_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for (sep, &b) in bytes.iter().enumerate() {
        if b != b'=' && b != b':' {
            continue;
        }
        if ranges.last().is_some_and(|r| sep < r.end) {
            continue;
        }
        // `a::b` is a Rust path and `a==b` a comparison, not an assignment.
        let doubled = |i: Option<usize>| i.and_then(|i| bytes.get(i)) == Some(&b);
        if doubled(sep.checked_sub(1)) || doubled(Some(sep + 1)) {
            continue;
        }
        let mut key_end = sep;
        while key_end > 0 && bytes[key_end - 1] == b' ' {
            key_end -= 1;
        }
        if key_end > 0 && matches!(bytes[key_end - 1], b'"' | b'\'') {
            key_end -= 1;
        }
        let mut key_start = key_end;
        while key_start > 0 && is_path_char(bytes[key_start - 1]) {
            key_start -= 1;
        }
        let key = text[key_start..key_end].to_ascii_lowercase();
        let secret = SECRET_KEYS.iter().any(|name| key.ends_with(name));
        // `key: value` is how error texts name a map key ("unknown key: name");
        // only `key=` is taken as an assignment for that bare word.
        if !secret || (b == b':' && key == "key") {
            continue;
        }
        let mut start = sep + 1 + run_len(bytes, sep + 1, |b| b == b' ');
        let end = match bytes.get(start) {
            Some(&quote @ (b'"' | b'\'')) => {
                start += 1;
                start + run_len(bytes, start, |b| b != quote)
            }
            _ => {
                start
                    + run_len(bytes, start, |b| {
                        !b.is_ascii_whitespace() && !matches!(b, b'&' | b',' | b';' | b')' | b']' | b'}' | b'"' | b'\'')
                    })
            }
        };
        if end > start {
            ranges.push(start..end);
        }
    }
    ranges
}

fn email_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let local_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain_char = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > 0 && local_char(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1 + run_len(bytes, at + 1, domain_char);
        while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let domain = &text[at + 1..end];
        let tld_ok = domain.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
        });
        let overlaps = ranges.last().is_some_and(|r| start < r.end);
        if start < at && tld_ok && !overlaps {
            ranges.push(start..end);
        }
    }
    ranges
}

/// Maximal runs of bytes in `class`, bounded by bytes outside `bound`.
fn runs(text: &str, class: impl Fn(u8) -> bool, bound: impl Fn(u8) -> bool) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if class(bytes[i]) && (i == 0 || !bound(bytes[i - 1])) {
            let len = run_len(bytes, i, &class);
            if bytes.get(i + len).is_none_or(|&b| !bound(b)) {
                out.push(i..i + len);
            }
            i += len;
        } else {
            i += 1;
        }
    }
    out
}

/// Hex strings of 32 digits or more: keys, hashes of secrets, session ids.
fn hex_ranges(text: &str) -> Vec<Range<usize>> {
    runs(text, |b| b.is_ascii_hexdigit(), |b| b.is_ascii_alphanumeric())
        .into_iter()
        .filter(|r| r.len() >= LONG_RUN)
        .collect()
}

/// Base64 (standard or URL-safe) of 32 characters or more that mixes upper
/// case, lower case and digits, as random keys do and words rarely do.
fn base64_ranges(text: &str) -> Vec<Range<usize>> {
    let class = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-');
    let bytes = text.as_bytes();
    runs(text, class, class)
        .into_iter()
        .filter(|r| {
            let run = &bytes[r.clone()];
            run.len() >= LONG_RUN
                && run.iter().any(u8::is_ascii_uppercase)
                && run.iter().any(u8::is_ascii_lowercase)
                && run.iter().any(u8::is_ascii_digit)
        })
        .map(|r| r.start..r.end + run_len(bytes, r.end, |b| b == b'=').min(2))
        .collect()
}

#[cfg(test)]
mod tests;
