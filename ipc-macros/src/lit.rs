//! Literals as the compiler wrote them: what kind, and the value of the
//! kinds the attributes take (strings and integers). Pure functions of the
//! literal's text, so they are tested without a compiler.

/// A literal, classified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lit {
    /// A string literal (plain or raw), with its escapes resolved.
    Str(String),
    /// An integer literal.
    Int(Int),
    /// Anything else: byte and C strings, characters, bytes, floats, `true`
    /// and `false`, or text this module does not understand.
    Other,
}

/// An integer literal's parts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Int {
    /// The literal as written, suffix included (`0o600u32`).
    pub(crate) text: String,
    /// 2, 8, 10 or 16.
    pub(crate) base: u32,
    /// The digits in `base`, without the prefix and the underscores.
    digits: String,
    /// The type suffix (`u32`), or empty.
    pub(crate) suffix: String,
}

impl Int {
    /// The value, or `None` above `u64::MAX`.
    pub(crate) fn value(&self) -> Option<u64> {
        u64::from_str_radix(&self.digits, self.base).ok()
    }

    /// The value in decimal. rustc refuses integer literals above
    /// `u128::MAX` itself; for one of those, the digits as written.
    pub(crate) fn base10_digits(&self) -> String {
        u128::from_str_radix(&self.digits, self.base)
            .map_or_else(|_| self.digits.clone(), |v| v.to_string())
    }
}

/// Classifies a literal from its text.
pub(crate) fn classify(text: &str) -> Lit {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b'"') => unescape(&text[1..]).map_or(Lit::Other, Lit::Str),
        Some(b'r') => raw(&text[1..]).map_or(Lit::Other, Lit::Str),
        Some(b'0'..=b'9') => number(text),
        _ => Lit::Other,
    }
}

/// The contents of `"..."` (its opening quote removed) with escapes
/// resolved; a suffix after the closing quote is ignored, as syn does.
fn unescape(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                '0' => out.push('\0'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'x' => {
                    let hex: String = [chars.next()?, chars.next()?].iter().collect();
                    out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
                }
                'u' => {
                    if chars.next()? != '{' {
                        return None;
                    }
                    let mut hex = String::new();
                    loop {
                        match chars.next()? {
                            '}' => break,
                            '_' => {}
                            c => hex.push(c),
                        }
                    }
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                // A line continuation: the newline and the whitespace after
                // it, which for rustc is only these four (it keeps a
                // no-break space, with a warning).
                '\n' | '\r' => {
                    while chars
                        .peek()
                        .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
                    {
                        chars.next();
                    }
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
}

/// The contents of `r#"..."#` (its `r` removed).
fn raw(rest: &str) -> Option<String> {
    let hashes = rest.bytes().take_while(|&b| b == b'#').count();
    let rest = rest[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = rest.find(&close)?;
    Some(rest[..end].to_owned())
}

fn number(text: &str) -> Lit {
    let (base, rest) = match text.get(..2) {
        Some("0x") => (16, &text[2..]),
        Some("0o") => (8, &text[2..]),
        Some("0b") => (2, &text[2..]),
        _ => (10, text),
    };
    let end = rest
        .find(|c: char| !(c == '_' || c.is_digit(base)))
        .unwrap_or(rest.len());
    let (digits, suffix) = rest.split_at(end);
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    // `1.5` and `1e3` are floats; `1f32` stays an integer with a suffix, so
    // the message can say to drop it. A "suffix" starting with a digit is a
    // digit outside the base (`0o78`), which rustc reports itself.
    let float = base == 10 && suffix.starts_with(['.', 'e', 'E']);
    let bad_digit = suffix.starts_with(|c: char| c.is_ascii_digit());
    if digits.is_empty() || float || bad_digit {
        return Lit::Other;
    }
    Lit::Int(Int {
        text: text.to_owned(),
        base,
        digits,
        suffix: suffix.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(text: &str) -> Int {
        match classify(text) {
            Lit::Int(i) => i,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn strings() {
        assert_eq!(classify(r#""/app.lock""#), Lit::Str("/app.lock".into()));
        assert_eq!(classify(r#""/a\0b""#), Lit::Str("/a\0b".into()));
        assert_eq!(
            classify(r#""\n\r\t\\\'\"\x41\u{1F600}\u{4_1}""#),
            Lit::Str("\n\r\t\\'\"A\u{1F600}A".into())
        );
        assert_eq!(classify("\"/a\\\n \t\r\n b\""), Lit::Str("/ab".into()));
        // rustc skips only ASCII whitespace after a line continuation.
        assert_eq!(classify("\"/a\\\n\u{a0}b\""), Lit::Str("/a\u{a0}b".into()));
        assert_eq!(classify(r#"r"/raw\n""#), Lit::Str(r"/raw\n".into()));
        assert_eq!(
            classify(r###"r##"/a"#b"##"###),
            Lit::Str(r##"/a"#b"##.into())
        );
        assert_eq!(classify(r#""/x"suffix"#), Lit::Str("/x".into()));
        for other in [
            r#"b"/x""#,
            r#"br"/x""#,
            r#"c"/x""#,
            "'x'",
            "b'x'",
            "1.5",
            "1e3",
            "0o78",
            "0b12",
        ] {
            assert_eq!(classify(other), Lit::Other, "{other}");
        }
    }

    #[test]
    fn integers() {
        let i = int("0o600u32");
        assert_eq!(
            (i.base, i.value(), i.suffix.as_str()),
            (8, Some(0o600), "u32")
        );
        assert_eq!(int("0x1_ff").value(), Some(0x1ff));
        assert_eq!(int("0b101").value(), Some(5));
        assert_eq!(int("1u8").suffix, "u8");
        assert_eq!(int("1f32").suffix, "f32");
        assert_eq!(int("0xffu8").suffix, "u8");
        assert_eq!(int("0x1f32").value(), Some(0x1f32));
        assert_eq!(int("1_000").value(), Some(1000));
        assert_eq!(int("18446744073709551616").value(), None);
        assert_eq!(
            int("99999999999999999999999").base10_digits(),
            "99999999999999999999999"
        );
        assert_eq!(
            int("0xffffffffffffffffffffffff").base10_digits(),
            "79228162514264337593543950335"
        );
        assert_eq!(int("0").base10_digits(), "0");
        assert_eq!(int("1000000000").base10_digits(), "1000000000");
    }
}
