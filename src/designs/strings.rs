//! The `.strings` files of a design (`<lang>.lproj/pass.strings`): `"key" = "value";` lines,
//! read as UTF-16 (with BOM) or UTF-8. Apple writes them back for each pass
//! (`apple::strings`); Google and the pages read the words from them.

use std::collections::HashMap;

/// Decodes a strings file: UTF-16 LE/BE with BOM, else UTF-8 (BOM optional).
pub fn decode(bytes: &[u8]) -> Option<String> {
    let utf16 = |le: bool| -> Option<String> {
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| match c {
                [a, b] if le => Some(u16::from_le_bytes([*a, *b])),
                [a, b] => Some(u16::from_be_bytes([*a, *b])),
                _ => None,
            })
            .collect::<Option<_>>()?;
        String::from_utf16(&units).ok()
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(true),
        [0xFE, 0xFF, ..] => utf16(false),
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec()).ok(),
        _ => String::from_utf8(bytes.to_vec()).ok(),
    }
}

/// Parses `"key" = "value";` entries, skipping blank lines and `/* */` or `//` comments.
pub fn parse(text: &str) -> Result<HashMap<String, String>, String> {
    let mut entries = HashMap::new();
    let mut rest = text;
    loop {
        rest = skip_space_and_comments(rest)?;
        if rest.is_empty() {
            return Ok(entries);
        }
        let (key, after) = quoted(rest)?;
        let after = skip_space_and_comments(after)?;
        let after = after.strip_prefix('=').ok_or("expected `=` after a key")?;
        let (value, after) = quoted(skip_space_and_comments(after)?)?;
        let after = skip_space_and_comments(after)?;
        rest = after
            .strip_prefix(';')
            .ok_or("expected `;` after a value")?;
        entries.insert(key, value);
    }
}

fn skip_space_and_comments(mut s: &str) -> Result<&str, String> {
    loop {
        s = s.trim_start();
        if let Some(r) = s.strip_prefix("/*") {
            let end = r.find("*/").ok_or("unterminated /* comment")?;
            s = &r[end + 2..];
        } else if let Some(r) = s.strip_prefix("//") {
            s = r.find('\n').map_or("", |i| &r[i + 1..]);
        } else {
            return Ok(s);
        }
    }
}

fn quoted(s: &str) -> Result<(String, &str), String> {
    let body = s.strip_prefix('"').ok_or("expected a \"quoted\" string")?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(e @ ('"' | '\\' | '\'')) => out.push(e),
                _ => return Err("unknown escape in a string".into()),
            },
            c => out.push(c),
        }
    }
    Err("unterminated string".into())
}
