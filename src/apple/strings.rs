//! Apple `.strings` files: `"key" = "value";` lines, read as UTF-16 (with BOM) or UTF-8 and
//! written as UTF-16 LE with BOM, the encoding Apple documents.

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

/// Appends a key or value escaped for a `"…"` literal, as UTF-16 LE (no byte-order mark).
pub fn append_escaped_utf16le(out: &mut Vec<u8>, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['"', '\\', '\n', '\r', '\t']) {
        append_utf16le(out, &rest[..at]);
        let escaped = match rest.as_bytes()[at] {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            _ => "\\t",
        };
        append_utf16le(out, escaped);
        rest = &rest[at + 1..];
    }
    append_utf16le(out, rest);
}

/// Encodes text as UTF-16 LE with a byte-order mark.
pub fn encode_utf16le(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + text.len() * 2);
    out.extend_from_slice(&[0xFF, 0xFE]);
    append_utf16le(&mut out, text);
    out
}

/// Appends text as UTF-16 LE (no byte-order mark) to already encoded bytes.
pub fn append_utf16le(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() * 2);
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_escape_encode_and_parse() {
        let mut bytes = encode_utf16le("/* c */\n\"");
        append_escaped_utf16le(&mut bytes, "a \"q\"\n\t\r");
        append_utf16le(&mut bytes, "\" = \"");
        append_escaped_utf16le(&mut bytes, "x\\y ключ 🎫");
        append_utf16le(&mut bytes, "\";\n// x\n\"b\"=\"c\";");
        let decoded = decode(&bytes).expect("decodes");
        let map = parse(&decoded).expect("parses");
        assert_eq!(
            map.get("a \"q\"\n\t\r").map(String::as_str),
            Some("x\\y ключ 🎫")
        );
        assert_eq!(map.get("b").map(String::as_str), Some("c"));
    }

    #[test]
    fn broken_strings_are_reported() {
        assert!(parse("\"a\" = \"b\"").is_err());
        assert!(parse("\"a\" \"b\";").is_err());
        assert!(parse("\"a = \"b\";").is_err());
        assert!(decode(&[0xFF, 0xFE, 0x00]).is_none());
    }
}
