//! Apple `.strings` files written as UTF-16 LE with BOM, the encoding Apple documents. Reading
//! them (UTF-16 with BOM or UTF-8) is the designs' business: see [`crate::designs::strings`].

pub use crate::designs::strings::{decode, parse};

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
