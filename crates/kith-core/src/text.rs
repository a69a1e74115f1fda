//! The one rule for control characters in text that reaches Kith. Both
//! databases must see the same input: PostgreSQL refuses NUL in text where
//! SQLite stores it, so NUL never gets past the edge. Free text (notes,
//! bodies, notice texts) keeps tab, line feed and carriage return; every
//! other text (identifiers, keys, path segments, query values) keeps no
//! control character at all.

/// What a piece of text is, for the control characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Written by people: tab, line feed and carriage return are allowed.
    Free,
    /// Everything else: no control character.
    Strict,
}

/// Whether `c` is refused in text of `kind`: every Unicode control
/// character (C0, DEL, C1), except the line breaks and tab of free text.
pub fn is_refused(c: char, kind: TextKind) -> bool {
    c.is_control() && !(kind == TextKind::Free && matches!(c, '\t' | '\n' | '\r'))
}

/// Whether `text` holds a character refused in text of `kind`.
pub fn has_refused(text: &str, kind: TextKind) -> bool {
    text.chars().any(|c| is_refused(c, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_controls_are_refused_everywhere_line_breaks_only_in_free_text() {
        for c in ['\0', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}'] {
            assert!(is_refused(c, TextKind::Free), "{c:?}");
            assert!(is_refused(c, TextKind::Strict), "{c:?}");
        }
        for c in ['\t', '\n', '\r'] {
            assert!(!is_refused(c, TextKind::Free), "{c:?}");
            assert!(is_refused(c, TextKind::Strict), "{c:?}");
        }
        assert!(!has_refused("Олена Коваленко, 山田 — ok", TextKind::Strict));
        assert!(has_refused("a\0b", TextKind::Free));
    }
}
