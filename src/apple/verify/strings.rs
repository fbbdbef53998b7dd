//! Checklist row L1: `<lang>.lproj/pass.strings` files parse, and every language defines the
//! same keys.
//!
//! Both findings are W: Wallet shows the untranslated key (or nothing, for a file it cannot
//! read) but still opens the pass. Encodings accepted: UTF-16 LE/BE with BOM (what Apple
//! documents) and UTF-8 with or without BOM (what Wallet tolerates).

use std::collections::BTreeMap;

use super::Report;
use super::archive::Archive;

pub(super) fn check(archive: &Archive, report: &mut Report) {
    let mut parsed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for entry in &archive.entries {
        let Some(lang) = entry.name.strip_suffix(".lproj/pass.strings") else {
            continue;
        };
        report.ran("L1");
        match decode(&entry.data).and_then(|text| parse(&text)) {
            Ok(pairs) => {
                parsed.insert(lang, pairs.into_iter().map(|(k, _)| k).collect());
            }
            Err(why) => report.warn("L1", format!("{} cannot be parsed: {why}", entry.name)),
        }
    }
    compare_keys(&parsed, report);
}

/// Reports keys that some language defines and another does not.
fn compare_keys(parsed: &BTreeMap<&str, Vec<String>>, report: &mut Report) {
    let all: std::collections::BTreeSet<&String> = parsed.values().flatten().collect();
    for (lang, keys) in parsed {
        let missing: Vec<&str> = all
            .iter()
            .filter(|k| !keys.contains(k))
            .map(|k| k.as_str())
            .collect();
        if !missing.is_empty() {
            report.warn(
                "L1",
                format!("{lang}.lproj/pass.strings lacks keys other languages define: {missing:?}"),
            );
        }
    }
}

/// Bytes to text by byte-order mark; no BOM means UTF-8.
fn decode(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        if rest.len() % 2 != 0 {
            return Err("UTF-16 text with an odd number of bytes".to_owned());
        }
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| from([c[0], c[1]])).collect();
        String::from_utf16(&units).map_err(|_| "invalid UTF-16".to_owned())
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        utf16(rest, u16::from_le_bytes)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        utf16(rest, u16::from_be_bytes)
    } else {
        let rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        String::from_utf8(rest.to_vec())
            .map_err(|_| "not UTF-16 with a BOM and not valid UTF-8".to_owned())
    }
}

/// Parses `"key" = "value";` statements with `/* */` and `//` comments.
pub(super) fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        pos: 0,
    };
    let mut pairs = Vec::new();
    while lexer.skip_trivia()? {
        let key = lexer.string()?;
        lexer.expect('=')?;
        let value = lexer.string()?;
        lexer.expect(';')?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// Skips whitespace and comments; false at end of input.
    fn skip_trivia(&mut self) -> Result<bool, String> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (None, _) => return Ok(false),
                (Some(c), _) if c.is_whitespace() => self.pos += 1,
                (Some('/'), Some('/')) => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                (Some('/'), Some('*')) => {
                    let body = self.chars.get(self.pos + 2..).unwrap_or_default();
                    let end = body.windows(2).position(|w| w == ['*', '/']);
                    let end = end.ok_or_else(|| self.error("unterminated /* comment"))?;
                    self.pos += 2 + end + 2;
                }
                _ => return Ok(true),
            }
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        if !self.skip_trivia()? || self.peek(0) != Some(wanted) {
            return Err(self.error(&format!("expected '{wanted}'")));
        }
        self.pos += 1;
        Ok(())
    }

    /// A quoted string, or a bare word as old-style property lists allow.
    fn string(&mut self) -> Result<String, String> {
        if !self.skip_trivia()? {
            return Err(self.error("unexpected end of file"));
        }
        if self.peek(0) != Some('"') {
            return self.bare_word();
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek(0) {
                None => return Err(self.error("unterminated string")),
                Some('"') => break,
                Some('\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                    continue;
                }
                Some(c) => out.push(c),
            }
            self.pos += 1;
        }
        self.pos += 1;
        Ok(out)
    }

    /// The character after a backslash; `pos` is on it and ends after the escape.
    fn escape(&mut self) -> Result<char, String> {
        let c = self
            .peek(0)
            .ok_or_else(|| self.error("unterminated escape"))?;
        self.pos += 1;
        Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'U' | 'u' => {
                let hex: String = self
                    .chars
                    .get(self.pos..self.pos + 4)
                    .unwrap_or_default()
                    .iter()
                    .collect();
                let code =
                    u32::from_str_radix(&hex, 16).map_err(|_| self.error("bad \\U escape"))?;
                self.pos += 4;
                char::from_u32(code).ok_or_else(|| self.error("\\U escape is not a character"))?
            }
            // `\"`, `\\` and any other escaped character stand for themselves.
            other => other,
        })
    }

    fn bare_word(&mut self) -> Result<String, String> {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || "_$+/:.-".contains(c))
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a quoted string"));
        }
        Ok(self
            .chars
            .get(start..self.pos)
            .unwrap_or_default()
            .iter()
            .collect())
    }

    fn error(&self, what: &str) -> String {
        let line = 1 + self
            .chars
            .iter()
            .take(self.pos)
            .filter(|c| **c == '\n')
            .count();
        format!("{what} on line {line}")
    }
}
