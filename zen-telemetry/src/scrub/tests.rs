//! What the scrubber removes and keeps, pattern by pattern.

use super::*;

fn scrubbed(text: &str) -> String {
    scrub_with_home(text, Some("/home/alice"))
}

#[test]
fn plain_messages_pass_unchanged() {
    for text in [
        "file not found",
        "invalid digit found in string",
        "unknown key: name at line 3",
        "called `Option::unwrap()` on a `None` value",
        "assertion `left == right` failed",
        "connection refused (os error 111)",
        "",
    ] {
        assert_eq!(scrubbed(text), text);
    }
}

#[test]
fn bearer_tokens() {
    assert_eq!(
        scrubbed("401 with Authorization: Bearer abc.DEF-123_x"),
        "401 with Authorization: [REDACTED] [REDACTED]"
    );
    assert_eq!(
        scrubbed("sent bearer  tok3n, got 401"),
        "sent bearer  [REDACTED] got 401"
    );
    assert_eq!(scrubbed("the bearer was late"), "the bearer [REDACTED] late");
    assert_eq!(scrubbed("unbearer x"), "unbearer x");
}

#[test]
fn api_tokens_with_known_prefixes() {
    assert_eq!(
        scrubbed("bad token ghp_16C7e42F292c6912E7710c838347Ae178B4a rejected"),
        "bad token ghp_[REDACTED] rejected"
    );
    assert_eq!(scrubbed("OPENAI sk-proj-abcdefghijklmnop1234"), "OPENAI sk-[REDACTED]");
    assert_eq!(scrubbed("id AKIAIOSFODNN7EXAMPLE used"), "id AKIA[REDACTED] used");
    assert_eq!(
        scrubbed("google AIzaSyD-abcdefghijklmnopqrstuv"),
        "google AIza[REDACTED]"
    );
    // Too short to be a token, and not at a word start.
    assert_eq!(
        scrubbed("sk-short task-abcdefghijklmnopqrst"),
        "sk-short task-abcdefghijklmnopqrst"
    );
}

#[test]
fn secret_key_values() {
    assert_eq!(
        scrubbed("login failed: password=hunter2 for admin"),
        "login failed: password=[REDACTED] for admin"
    );
    assert_eq!(
        scrubbed("db?user=a&Password=p4ss&x=1"),
        "db?user=a&Password=[REDACTED]&x=1"
    );
    assert_eq!(scrubbed("secret = 'two words'"), "secret = '[REDACTED]'");
    assert_eq!(
        scrubbed(r#"{"client_secret": "s3cr3t", "id": 1}"#),
        r#"{"client_secret": "[REDACTED]", "id": 1}"#
    );
    assert_eq!(scrubbed("api_key: abc123,"), "api_key: [REDACTED],");
    assert_eq!(
        scrubbed("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI"),
        "AWS_SECRET_ACCESS_KEY=[REDACTED]"
    );
    assert_eq!(scrubbed("key=value"), "key=[REDACTED]");
    assert_eq!(scrubbed("access_token=abc"), "access_token=[REDACTED]");
    // Rust paths and comparisons are not assignments.
    assert_eq!(scrubbed("secret::Store failed"), "secret::Store failed");
    assert_eq!(scrubbed("token==expected"), "token==expected");
    assert_eq!(scrubbed("name=alice"), "name=alice");
}

#[test]
fn email_addresses() {
    assert_eq!(scrubbed("no user Jane.Doe+x@mail.example.co.uk."), "no user [EMAIL].");
    assert_eq!(scrubbed("a@b.c and x@localhost"), "a@b.c and x@localhost");
    assert_eq!(scrubbed("@mention"), "@mention");
}

#[test]
fn url_credentials() {
    assert_eq!(
        scrubbed("cannot reach https://bob:pa55@db.internal:5432/x"),
        "cannot reach https://[REDACTED]@db.internal:5432/x"
    );
    assert_eq!(
        scrubbed("cannot reach https://db.internal/x@y"),
        "cannot reach https://db.internal/x@y"
    );
}

#[test]
fn long_hex_and_base64() {
    let hex = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        scrubbed(&format!("digest {hex} mismatch")),
        "digest [REDACTED] mismatch"
    );
    assert_eq!(scrubbed("short deadbeef ok"), "short deadbeef ok");
    let b64 = "dGhpcyBpcyBhIHZlcnkgc2VjcmV0IGtleSAxMjM0NQ==";
    assert_eq!(scrubbed(&format!("key {b64}!")), "key [REDACTED]!");
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ";
    assert!(!scrubbed(jwt).contains("eyJ"), "{}", scrubbed(jwt));
    // Long identifiers without digits, or in one case, stay readable.
    let ident = "this_is_a_rather_long_function_name_in_snake_case";
    assert_eq!(scrubbed(ident), ident);
}

#[test]
fn home_directory_becomes_tilde() {
    assert_eq!(
        scrubbed("cannot open /home/alice/projects/x.toml"),
        "cannot open ~/projects/x.toml"
    );
    assert_eq!(scrubbed("in /home/alice"), "in ~");
    assert_eq!(scrubbed("/home/alicexyz/a"), "/home/alicexyz/a");
    assert_eq!(scrub_with_home("/home/alice/a", None), "/home/alice/a");
}

#[test]
fn several_secrets_in_one_message() {
    assert_eq!(
        scrubbed("password=hunter2 user@example.com at /home/alice/.netrc"),
        "password=[REDACTED] [EMAIL] at ~/.netrc"
    );
}

#[test]
fn truncates_to_512_chars_on_char_boundaries() {
    let ascii = "a ".repeat(600);
    let out = scrubbed(&ascii);
    assert_eq!(out.chars().count(), MAX_MESSAGE_CHARS);
    assert!(out.ends_with('…'));
    for unit in ["é", "日本", "🦀", "e\u{301}"] {
        let text = unit.repeat(700);
        let out = scrubbed(&text);
        assert_eq!(out.chars().count(), MAX_MESSAGE_CHARS, "{unit}");
        assert!(out.ends_with('…'));
    }
    assert_eq!(scrubbed(&"x".repeat(512)), "x".repeat(512));
    assert_eq!(truncate("日本語", 2), "日…");
    assert_eq!(truncate("日本語", 0), "");
}

#[test]
fn huge_messages_are_bounded_without_leaking_a_cut_secret() {
    let mut text = "word ".repeat(SCAN_LIMIT_BYTES / 5 - 2);
    text.push_str("0123456789abcdef0123456789abcdef0123456789abcdef");
    let cut = bounded(&text);
    assert!(cut.len() <= SCAN_LIMIT_BYTES);
    assert!(!cut.contains("0123"), "the straddling word is dropped");
    assert_eq!(
        bounded(&"日".repeat(SCAN_LIMIT_BYTES)),
        "",
        "no whitespace: nothing safe to keep"
    );
}

#[test]
fn multibyte_text_around_secrets() {
    assert_eq!(
        scrubbed("mot de passe: password=été…"),
        "mot de passe: password=[REDACTED]"
    );
    assert_eq!(scrubbed("日本 user@example.com 日本"), "日本 [EMAIL] 日本");
}
