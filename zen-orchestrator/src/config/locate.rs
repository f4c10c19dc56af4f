//! Where a path such as `instances[1].nmae` sits in JSON text, as a 1-based
//! line and column: serde_json reports positions only for syntax errors, and
//! a typo'd key deserves one too. A small tolerant scanner, not a parser: on
//! text it cannot follow it gives up with `None`, never panics or loops.

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

pub(crate) fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// The 1-based line and column of `path` in JSON `source`: the key's opening
/// quote for a key, the value's first character for an array element.
pub(crate) fn locate(source: &str, path: &[Segment]) -> Option<(usize, usize)> {
    let mut scanner = Scanner {
        bytes: source.as_bytes(),
        pos: 0,
    };
    scanner.skip_ws();
    let offset = scanner.find(path)?;
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    Some((line, column))
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// Reads a string token starting at the current `"`, returning it decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.pos;
        if self.peek()? != b'"' {
            return None;
        }
        self.pos += 1;
        loop {
            match self.peek()? {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    break;
                }
                _ => self.pos += 1,
            }
        }
        let raw = std::str::from_utf8(self.bytes.get(start..self.pos)?).ok()?;
        serde_json::from_str(raw).ok()
    }

    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.pos += 1;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b if b == close => {
                            self.pos += 1;
                            return Some(());
                        }
                        b',' | b':' => self.pos += 1,
                        _ => self.skip_value()?,
                    }
                }
            }
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.pos += 1;
                }
                // A stray `}` or `]` is no value: consuming nothing and saying
                // `Some` made the callers' loops spin forever on `[}`.
                (self.pos > start).then_some(())
            }
        }
    }

    /// With the cursor at a value, finds `path` inside it.
    fn find(&mut self, path: &[Segment]) -> Option<usize> {
        self.skip_ws();
        let Some(first) = path.first() else {
            return Some(self.pos);
        };
        match (self.peek()?, first) {
            (b'{', Segment::Key(wanted)) => {
                self.pos += 1;
                let mut found = None;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b'}' => return found,
                        b',' => self.pos += 1,
                        b'"' => {
                            let key_start = self.pos;
                            let key = self.string()?;
                            self.expect(b':')?;
                            if &key == wanted {
                                // The last duplicate wins, as in serde_json.
                                let mut probe = Scanner {
                                    bytes: self.bytes,
                                    pos: self.pos,
                                };
                                found = if path.len() == 1 {
                                    Some(key_start)
                                } else {
                                    probe.find(&path[1..])
                                };
                            }
                            self.skip_value()?;
                        }
                        _ => return found,
                    }
                }
            }
            (b'[', Segment::Index(wanted)) => {
                self.pos += 1;
                let mut index = 0;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b']' => return None,
                        b',' => {
                            self.pos += 1;
                            index += 1;
                        }
                        _ if index == *wanted => return self.find(&path[1..]),
                        _ => self.skip_value()?,
                    }
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_gives_up_on_mismatched_brackets() {
        // These used to loop forever (found by the fuzz tests below).
        assert_eq!(locate("[}", &[Segment::Index(1)]), None);
        assert_eq!(
            locate("{\"a\": [}", &[Segment::Key("a".into()), Segment::Index(0)]),
            None
        );
        assert_eq!(locate("{\"a\": {]}", &[Segment::Key("b".into())]), None);
    }

    #[test]
    fn locate_handles_strings_with_braces() {
        let source = r#"{"a": "}{,[", "b": [1, {"c": "x\"y"}, {"d": 2}]}"#;
        let at = [Segment::Key("b".into()), Segment::Index(2), Segment::Key("d".into())];
        assert_eq!(locate(source, &at), Some((1, 40)));
    }

    #[test]
    fn render_path_joins_keys_with_dots_and_indexes_with_brackets() {
        let path = [
            Segment::Key("instances".into()),
            Segment::Index(2),
            Segment::Key("env".into()),
        ];
        assert_eq!(render_path(&path), "instances[2].env");
        assert_eq!(render_path(&[]), "");
    }

    #[test]
    fn locate_takes_the_last_duplicate_key_as_serde_json_does() {
        let source = "{\"a\": 1,\n \"a\": 2}";
        assert_eq!(locate(source, &[Segment::Key("a".into())]), Some((2, 2)));
    }
}
