//! The interface's language: messages in Fluent files
//! (`crates/kith-server/locales/<language>/kith.ftl`, compiled in), chosen
//! by the account's own setting (kept in the `kith_lang` cookie, set at
//! sign-in and when it changes), else from `Accept-Language`. Adding a
//! language is adding one folder and one line in `OFFERED`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{static_loader, LanguageIdentifier, Loader};
use std::borrow::Cow;
use std::collections::HashMap;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en-US",
        // Bidirectional isolation marks would show in plain-text contexts (titles).
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages offered, by their primary subtag, with their own names.
const OFFERED: &[(&str, &str, &str)] = &[("en", "en-US", "English"), ("uk", "uk", "Українська")];

/// The cookie carrying the account's chosen language to every page.
const COOKIE: &str = "kith_lang";

/// The reader's language, with its messages.
#[derive(Clone)]
pub struct Lang {
    id: LanguageIdentifier,
}

impl Lang {
    /// The first offered language of an `Accept-Language` header, in the
    /// order of preference it gives (`q`), else English.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let mut wanted: Vec<(f32, &str)> = accept
            .unwrap_or_default()
            .split(',')
            .filter_map(|item| {
                let mut parts = item.trim().split(';');
                let tag = parts.next()?.trim();
                let q =
                    parts.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
                (q > 0.0 && !tag.is_empty()).then_some((q, tag))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let chosen = wanted.iter().find_map(|(_, tag)| {
            let primary = tag.split('-').next().unwrap_or_default().to_ascii_lowercase();
            OFFERED.iter().find(|(p, _, _)| *p == primary).map(|(_, id, _)| *id)
        });
        // The offered ids are constants that parse; the default (undetermined) falls back to English.
        Self { id: chosen.unwrap_or("en-US").parse().unwrap_or_default() }
    }

    /// The language tag for `<html lang>`.
    pub fn tag(&self) -> String {
        self.id.language.as_str().to_string()
    }

    /// The calendar day of an RFC 3339 time (or `YYYY-MM-DD`) as this
    /// language writes dates: `Dec 1, 2026` in English, `01.12.2026` in
    /// Ukrainian. Anything else is shown as it came.
    pub fn date(&self, raw: &str) -> String {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let day = raw.get(..10).unwrap_or(raw);
        let parts: Vec<u32> = day.split('-').filter_map(|p| p.parse().ok()).collect();
        let [year, month, day_of_month] = parts[..] else { return raw.to_string() };
        if !(1..=12).contains(&month) || !(1..=31).contains(&day_of_month) {
            return raw.to_string();
        }
        match self.id.language.as_str() {
            "uk" => format!("{day_of_month:02}.{month:02}.{year}"),
            _ => format!("{} {day_of_month}, {year}", MONTHS[month as usize - 1]),
        }
    }

    /// A decimal number as stored (`-1234.50`) as this language writes
    /// it: `-1,234.50` in English, `-1 234,50` in Ukrainian (a no-break
    /// space between groups). Anything else is shown as it came.
    pub fn number(&self, raw: &str) -> String {
        let (sign, digits) = raw.strip_prefix('-').map_or(("", raw), |rest| ("-", rest));
        let (whole, fraction) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
            return raw.to_string();
        }
        let (group, point) = match self.id.language.as_str() {
            "uk" => ('\u{a0}', ','),
            _ => (',', '.'),
        };
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(c);
        }
        match fraction {
            Some(f) => format!("{sign}{grouped}{point}{f}"),
            None => format!("{sign}{grouped}"),
        }
    }

    /// A message.
    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(&self.id, key)
    }

    /// A message that may not exist (a label made from a field's name).
    pub fn try_t(&self, key: &str) -> Option<String> {
        LOCALES.try_lookup(&self.id, key)
    }

    /// A message with several numeric arguments.
    pub fn tn(&self, key: &str, args: &[(&str, i64)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> =
            args.iter().map(|(name, value)| (Cow::Owned(name.to_string()), FluentValue::from(*value))).collect();
        LOCALES.lookup_with_args(&self.id, key, &args)
    }

    /// A message with one argument.
    pub fn t1(&self, key: &str, name: &str, value: impl Into<FluentValue<'static>>) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> =
            HashMap::from([(Cow::Owned(name.to_string()), value.into())]);
        LOCALES.lookup_with_args(&self.id, key, &args)
    }
}

impl Lang {
    /// The language of an offered primary tag (`uk`), if offered.
    pub fn offered(tag: &str) -> Option<Self> {
        OFFERED.iter().find(|(p, _, _)| *p == tag).map(|(p, _, _)| Self::negotiate(Some(p)))
    }

    /// The browser's language alone, without the account's choice.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Self {
        Self::negotiate(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
    }

    /// The languages a reader may choose: (primary tag, name in itself).
    pub fn choices() -> Vec<(&'static str, &'static str)> {
        OFFERED.iter().map(|(p, _, name)| (*p, *name)).collect()
    }

    /// The `Set-Cookie` value that makes `tag` the browser's language for
    /// Kith (`None`: the browser's own again).
    pub fn cookie(tag: Option<&str>, secure: bool) -> HeaderValue {
        match tag.filter(|t| Self::offered(t).is_some()) {
            Some(tag) => super::set_cookie(COOKIE, tag, Some(365 * 86_400), "/", secure),
            None => super::clear_cookie(COOKIE, "/", secure),
        }
    }
}

/// The language the account chose, from its cookie.
fn chosen(headers: &axum::http::HeaderMap) -> Option<Lang> {
    super::cookie(headers, COOKIE).and_then(|tag| Lang::offered(&tag))
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(chosen(&parts.headers).unwrap_or_else(|| Self::from_headers(&parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preferred_offered_language_wins() {
        assert_eq!(Lang::negotiate(Some("uk-UA,uk;q=0.9,en;q=0.8")).tag(), "uk");
        assert_eq!(Lang::negotiate(Some("de-DE, en;q=0.5, uk;q=0.7")).tag(), "uk");
        assert_eq!(Lang::negotiate(Some("fr, uk;q=0")).tag(), "en");
        assert_eq!(Lang::negotiate(None).tag(), "en");
    }

    #[test]
    fn numbers_are_written_as_each_language_writes_them() {
        let (en, uk) = (Lang::negotiate(Some("en")), Lang::negotiate(Some("uk")));
        assert_eq!(en.number("1234567.50"), "1,234,567.50");
        assert_eq!(uk.number("1234567.50"), "1\u{a0}234\u{a0}567,50");
        assert_eq!(en.number("-999"), "-999");
        assert_eq!(en.number("-1000"), "-1,000");
        assert_eq!(uk.number("0.5"), "0,5");
        for odd in ["", "-", "1.2.3", "abc", "1e5", ".5"] {
            assert_eq!(en.number(odd), odd, "shown as it came");
        }
    }

    #[test]
    fn dates_are_written_as_each_language_writes_them() {
        assert_eq!(Lang::negotiate(Some("en")).date("2026-12-01T10:00:00.000Z"), "Dec 1, 2026");
        assert_eq!(Lang::negotiate(Some("uk")).date("2026-12-01"), "01.12.2026");
        assert_eq!(Lang::negotiate(Some("uk")).date("not a date"), "not a date");
        assert_eq!(Lang::negotiate(Some("en")).date("2026-13-01"), "2026-13-01");
    }

    #[test]
    fn every_message_exists_in_every_language() {
        let english = include_str!("../../../locales/en-US/kith.ftl");
        let keys = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with([' ', '#', '*', '[']) && l.contains(" ="))
                .map(|l| l.split(" =").next().unwrap().to_string())
                .collect()
        };
        let ukrainian = keys(include_str!("../../../locales/uk/kith.ftl"));
        for key in keys(english) {
            assert!(ukrainian.contains(&key), "uk lacks {key}");
        }
        assert_eq!(Lang::negotiate(Some("uk")).t("sign-in"), "Увійти");
        assert_eq!(Lang::negotiate(Some("uk")).t1("contacts-count", "count", 3), "3 контакти на цій сторінці");
    }
}
