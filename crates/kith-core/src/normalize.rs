//! The normal forms blind indexes are computed over. Two spellings a person
//! would call the same (case, compatibility forms, accents) give one term.

use unicode_normalization::UnicodeNormalization;

/// Splits a name into search words: NFKD, combining marks dropped, lower
/// case, split on anything that is not a letter or digit. "Ólena Kovalenko-Shevchenko"
/// gives `olena`, `kovalenko`, `shevchenko`.
pub fn name_words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    let mut words: Vec<String> =
        folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.nfc().collect()).collect();
    words.sort();
    words.dedup();
    words
}

/// A tag's normal form: trimmed, NFKC, lower case.
pub fn tag_key(tag: &str) -> String {
    tag.trim().nfkc().flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_case_and_accents() {
        assert_eq!(name_words("Ólena  Kovalenko-Shevchenko"), ["kovalenko", "olena", "shevchenko"]);
        assert_eq!(name_words("ОЛЕНА олена"), ["олена"]);
        assert_eq!(name_words("山田 太郎"), ["太郎", "山田"]);
        assert!(name_words(" - ").is_empty());
    }

    #[test]
    fn tags_fold_case() {
        assert_eq!(tag_key(" VIP "), "vip");
    }
}
