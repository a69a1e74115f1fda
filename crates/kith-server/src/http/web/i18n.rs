//! The interface's language: messages in Fluent files
//! (`crates/kith-server/locales/<language>/kith.ftl`, compiled in), chosen
//! from `Accept-Language`. Adding a language is adding one folder.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
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

/// The languages offered, by their primary subtag.
const OFFERED: &[(&str, &str)] = &[("en", "en-US"), ("uk", "uk")];

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
            OFFERED.iter().find(|(p, _)| *p == primary).map(|(_, id)| *id)
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

    /// A message.
    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(&self.id, key)
    }

    /// A message that may not exist (a label made from a field's name).
    pub fn try_t(&self, key: &str) -> Option<String> {
        LOCALES.try_lookup(&self.id, key)
    }

    /// A message with one argument.
    pub fn t1(&self, key: &str, name: &str, value: impl Into<FluentValue<'static>>) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> =
            HashMap::from([(Cow::Owned(name.to_string()), value.into())]);
        LOCALES.lookup_with_args(&self.id, key, &args)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::negotiate(parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())))
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
