//! `zen traces FILE` draws a recorded trace file (snapshot).

mod common;

use common::*;

#[test]
fn renders_a_recorded_trace_file() {
    let out = zen().args(["traces", &fixture("trace-sample.jsonl")]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = std::fs::read_to_string(fixture("trace-sample.expected.txt")).unwrap();
    let actual = text(&out.stdout);
    assert!(
        actual == expected,
        "zen traces output differs from tests/fixtures/trace-sample.expected.txt\n--- actual ---\n{actual}--- expected ---\n{expected}"
    );
    assert!(
        !actual.contains('\x1b'),
        "no colour when NO_COLOR is set and stdout is not a terminal"
    );
}

#[test]
fn file_without_spans_is_an_error() {
    let dir = TempDir::new("traces-empty");
    let path = dir.path("empty.jsonl");
    std::fs::write(&path, "not json\n").unwrap();
    let out = zen().args(["traces", path.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no spans (1 malformed line(s) skipped)"),
        "{}",
        text(&out.stderr)
    );
}
