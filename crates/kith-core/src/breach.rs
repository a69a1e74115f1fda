//! Personal data breaches (Art. 33, 34): what the DPO records, the
//! 72-hour clock to the supervisory authority, which notifications the
//! risk makes due, the scope from which the affected people are computed,
//! and the drafts of the notification to the authority and the notice to
//! each person. Pure rules over values; no I/O.

use crate::controller::ControllerDetails;
use crate::error::{ErrorCode, ValidationError};
use crate::model::{parse_timestamp, unix_millis};
use crate::values::check_text;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::OnceLock;
use utoipa::ToSchema;
use uuid::Uuid;

/// Art. 33(1): the authority is notified within 72 hours of awareness.
pub const AUTHORITY_HOURS: i64 = 72;
const HOUR_MS: i64 = 3_600_000;
/// A breach whose authority deadline is this close is "due soon".
pub const DUE_SOON_MS: i64 = 24 * HOUR_MS;

const DATA_SUBJECTS: &str = include_str!("../data/fideslang/data_subjects.csv");

/// Every fideslang data-subject key (`customer`, `prospect`, ...).
pub fn data_subjects() -> &'static std::collections::BTreeSet<String> {
    static KEYS: OnceLock<std::collections::BTreeSet<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut reader = csv::Reader::from_reader(DATA_SUBJECTS.as_bytes());
        let column = reader.headers().ok().and_then(|h| h.iter().position(|c| c == "fides_key")).unwrap_or(0);
        reader.records().filter_map(Result::ok).filter_map(|r| r.get(column).map(str::to_string)).collect()
    })
}

/// The DPO's assessment of the risk to people (Art. 33(1), 34(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Unlikely to result in a risk: documented (33(5)), not notified.
    None,
    /// A risk: the authority is notified.
    Risk,
    /// A high risk: the people are told too, unless 34(3) applies.
    HighRisk,
}

/// Where a breach stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreachStatus {
    /// Opened from an alert, not yet confirmed as a breach.
    Candidate,
    Open,
    Closed,
}

/// A breach as the DPO describes it; every text describes the incident,
/// never a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachInput {
    pub title: String,
    /// When the controller became aware (RFC 3339); never in the future.
    pub aware_at: String,
    /// When it began and ended, as far as known (RFC 3339).
    #[serde(default)]
    pub occurred_from: Option<String>,
    #[serde(default)]
    pub occurred_to: Option<String>,
    /// What happened (Art. 33(3)(a)).
    pub nature: String,
    /// fideslang data-category keys concerned.
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// fideslang data-subject keys concerned (`customer`, `prospect`).
    #[serde(default)]
    pub subject_categories: Vec<String>,
    /// Approximate numbers where the audit log cannot tell (Art. 33(3)(a)).
    #[serde(default)]
    pub approximate_people: Option<u64>,
    #[serde(default)]
    pub approximate_records: Option<u64>,
    /// Likely consequences (Art. 33(3)(c)).
    #[serde(default)]
    pub consequences: String,
    /// Measures taken (Art. 33(3)(d)).
    #[serde(default)]
    pub measures_taken: String,
    /// Measures proposed, including to mitigate its effects (Art. 33(3)(d)).
    #[serde(default)]
    pub measures_proposed: String,
    pub risk: Risk,
    /// Whether the data was unintelligible to whoever got it (encrypted
    /// with keys they did not hold): then people need not be told (34(3)(a)).
    #[serde(default)]
    pub data_unintelligible: bool,
    /// Why the authority is told after 72 hours (Art. 33(1)); required then.
    #[serde(default)]
    pub delay_reasons: Option<String>,
}

/// A change: the fields given, and the phased information (Art. 33(4)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachPatch {
    pub title: Option<String>,
    pub aware_at: Option<String>,
    pub occurred_from: Option<String>,
    pub occurred_to: Option<String>,
    pub nature: Option<String>,
    pub data_categories: Option<Vec<String>>,
    pub subject_categories: Option<Vec<String>>,
    pub approximate_people: Option<u64>,
    pub approximate_records: Option<u64>,
    pub consequences: Option<String>,
    pub measures_taken: Option<String>,
    pub measures_proposed: Option<String>,
    pub risk: Option<Risk>,
    pub data_unintelligible: Option<bool>,
    pub delay_reasons: Option<String>,
    /// `open` confirms a candidate; `closed` ends the handling.
    pub status: Option<BreachStatus>,
    /// When the authority was notified (RFC 3339).
    pub authority_notified_at: Option<String>,
    /// The authority's reference for the notification.
    pub authority_reference: Option<String>,
    /// Information given in a later phase (Art. 33(4)), kept as a dated update.
    pub update: Option<String>,
}

/// The scope whose reads and changes the audit log is searched for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachScope {
    /// An actor as the audit log names it (`user:…`, `token:…`, `key:…`).
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub token_id: Option<Uuid>,
    #[serde(default)]
    pub api_key_id: Option<Uuid>,
    #[serde(default)]
    pub account_id: Option<Uuid>,
    /// A client address or network (CIDR).
    #[serde(default)]
    pub network: Option<String>,
    /// A kind of record: `contacts`, `interactions`, ...
    #[serde(default)]
    pub entity: Option<String>,
    /// RFC 3339, inclusive.
    pub from: String,
    /// RFC 3339, exclusive.
    pub to: String,
}

impl BreachScope {
    /// The actor names it selects (none: every actor), the window in
    /// milliseconds, checked.
    pub fn validate(&mut self, now: i64) -> Result<(Vec<String>, i64, i64), ValidationError> {
        let invalid = |d: &str| ValidationError::new(ErrorCode::InvalidValue, d.to_string());
        let from = unix_millis(parse_timestamp("from", &self.from)?);
        let to = unix_millis(parse_timestamp("to", &self.to)?);
        if to <= from {
            return Err(invalid("to: after from"));
        }
        if from > now {
            return Err(invalid("from: not in the future"));
        }
        let mut actors = Vec::new();
        if let Some(actor) = &self.actor {
            if !crate::audit::is_audit_name(actor) || !actor.contains(':') {
                return Err(invalid("actor: as the audit log names it, like user:<id> or key:<id>"));
            }
            actors.push(actor.clone());
        }
        actors.extend(self.token_id.map(|id| format!("token:{id}")));
        actors.extend(self.api_key_id.map(|id| format!("key:{id}")));
        actors.extend(self.account_id.map(|id| format!("user:{id}")));
        if actors.len() > 1 {
            return Err(invalid("actor, token_id, api_key_id, account_id: name one of them"));
        }
        if let Some(network) = &self.network {
            let parsed = crate::api_key::parse_network(network)
                .ok_or_else(|| invalid("network: an IP address or a network like 192.0.2.0/24"))?;
            self.network = Some(parsed.to_string());
        }
        if let Some(entity) = &self.entity {
            if !crate::EntityKind::ALL.iter().any(|k| k.as_str() == entity) {
                return Err(invalid("entity: contacts, companies, interactions, deals or purchases"));
            }
        }
        Ok((actors, from, to))
    }
}

fn text(value: &str, field: &str, max: usize, required: bool) -> Result<String, ValidationError> {
    let checked = check_text(value, max, true).map_err(|e| e.at(field))?;
    if required && checked.is_empty() {
        return Err(ValidationError::new(ErrorCode::MissingField, format!("{field}: must not be empty")));
    }
    Ok(checked)
}

fn keys(
    list: &mut Vec<String>,
    field: &str,
    known: &std::collections::BTreeSet<String>,
) -> Result<(), ValidationError> {
    if list.len() > 100 {
        return Err(ValidationError::new(ErrorCode::InvalidValue, format!("{field}: at most 100")));
    }
    for (i, k) in list.iter_mut().enumerate() {
        *k = k.trim().to_string();
        if !known.contains(k.as_str()) {
            return Err(ValidationError::new(ErrorCode::InvalidValue, format!("{field}[{i}]: a fideslang key")));
        }
    }
    list.sort();
    list.dedup();
    Ok(())
}

impl BreachInput {
    /// Normalises and checks; answers `aware_at` in milliseconds.
    pub fn validate(&mut self, now: i64) -> Result<i64, ValidationError> {
        self.title = text(&self.title, "title", 200, true)?;
        let aware = parse_timestamp("aware_at", &self.aware_at)?;
        let aware_ms = unix_millis(aware);
        if aware_ms > now {
            return Err(ValidationError::new(ErrorCode::InvalidValue, "aware_at: not in the future"));
        }
        let mut occurred = Vec::new();
        for (field, value) in [("occurred_from", &self.occurred_from), ("occurred_to", &self.occurred_to)] {
            if let Some(t) = value {
                let at = unix_millis(parse_timestamp(field, t)?);
                if at > now {
                    return Err(ValidationError::new(ErrorCode::InvalidValue, format!("{field}: not in the future")));
                }
                occurred.push(at);
            }
        }
        if let [from, to] = occurred[..] {
            if to < from {
                return Err(ValidationError::new(ErrorCode::InvalidValue, "occurred_to: not before occurred_from"));
            }
        }
        self.nature = text(&self.nature, "nature", 8000, true)?;
        for (field, value) in [
            ("consequences", &mut self.consequences),
            ("measures_taken", &mut self.measures_taken),
            ("measures_proposed", &mut self.measures_proposed),
        ] {
            *value = text(value, field, 8000, false)?;
        }
        if let Some(reasons) = &self.delay_reasons {
            self.delay_reasons = Some(text(reasons, "delay_reasons", 8000, false)?).filter(|r| !r.is_empty());
        }
        keys(&mut self.data_categories, "data_categories", crate::purpose::data_categories())?;
        keys(&mut self.subject_categories, "subject_categories", data_subjects())?;
        Ok(aware_ms)
    }

    /// Applies a patch (not its status, notification or update, which
    /// the register keeps beside the description).
    pub fn apply(&mut self, p: &BreachPatch) {
        let set = |field: &mut String, value: &Option<String>| {
            if let Some(v) = value {
                field.clone_from(v);
            }
        };
        set(&mut self.title, &p.title);
        set(&mut self.aware_at, &p.aware_at);
        set(&mut self.nature, &p.nature);
        set(&mut self.consequences, &p.consequences);
        set(&mut self.measures_taken, &p.measures_taken);
        set(&mut self.measures_proposed, &p.measures_proposed);
        for (field, value) in [(&mut self.occurred_from, &p.occurred_from), (&mut self.occurred_to, &p.occurred_to)] {
            if value.is_some() {
                field.clone_from(value);
            }
        }
        if p.delay_reasons.is_some() {
            self.delay_reasons.clone_from(&p.delay_reasons);
        }
        if let Some(v) = &p.data_categories {
            self.data_categories.clone_from(v);
        }
        if let Some(v) = &p.subject_categories {
            self.subject_categories.clone_from(v);
        }
        self.approximate_people = p.approximate_people.or(self.approximate_people);
        self.approximate_records = p.approximate_records.or(self.approximate_records);
        self.risk = p.risk.unwrap_or(self.risk);
        self.data_unintelligible = p.data_unintelligible.unwrap_or(self.data_unintelligible);
    }
}

/// `aware_at + 72 h`: hours of elapsed time, whatever the calendar or
/// the clocks do (UTC milliseconds have no daylight saving).
pub fn authority_due(aware_at: i64) -> i64 {
    aware_at + AUTHORITY_HOURS * HOUR_MS
}

/// Whether the authority must be notified (any risk) and the people told
/// (a high risk, unless the data was unintelligible to whoever got it).
pub fn notifications_due(input: &BreachInput) -> (bool, bool) {
    (input.risk != Risk::None, input.risk == Risk::HighRisk && !input.data_unintelligible)
}

/// Where the 72-hour clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// No notification is required (risk none), or the breach is closed unnotified.
    NotRequired,
    Notified,
    Open,
    DueSoon,
    Overdue,
}

pub fn clock_state(input: &BreachInput, due_at: i64, notified_at: Option<i64>, now: i64) -> ClockState {
    match (notifications_due(input).0, notified_at) {
        (false, _) => ClockState::NotRequired,
        (true, Some(_)) => ClockState::Notified,
        (true, None) if now > due_at => ClockState::Overdue,
        (true, None) if due_at - now <= DUE_SOON_MS => ClockState::DueSoon,
        (true, None) => ClockState::Open,
    }
}

/// A notification after the deadline needs the reasons for the delay.
pub fn check_notification(input: &BreachInput, due_at: i64, notified_at: i64, now: i64) -> Result<(), ValidationError> {
    if notified_at > now {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "authority_notified_at: not in the future"));
    }
    if notified_at < due_at - AUTHORITY_HOURS * HOUR_MS {
        return Err(ValidationError::new(ErrorCode::InvalidValue, "authority_notified_at: not before aware_at"));
    }
    if notified_at > due_at && input.delay_reasons.as_deref().is_none_or(str::is_empty) {
        return Err(ValidationError::new(
            ErrorCode::MissingField,
            "delay_reasons: a notification after 72 hours gives the reasons for the delay (Art. 33(1))",
        ));
    }
    Ok(())
}

/// People the audit log shows in a breach's scope, counted per category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AffectedSummary {
    pub people: u64,
    /// Audited reads and changes in the scope.
    pub events: u64,
    /// People per category of data (field classes: `identity`, `contact_details`, ...).
    pub by_category: BTreeMap<String, u64>,
}

/// Everything the drafts are made of.
pub struct DraftFacts<'a> {
    pub id: Uuid,
    pub input: &'a BreachInput,
    pub aware_at: String,
    pub due_at: String,
    pub notified_late: bool,
    pub affected: &'a AffectedSummary,
    pub controller: Option<&'a ControllerDetails>,
    /// Dated phases already given (Art. 33(4)): (time, text).
    pub updates: Vec<(String, String)>,
}

fn or_unknown(text: &str) -> &str {
    if text.is_empty() {
        "not yet known"
    } else {
        text
    }
}

fn contact(f: &DraftFacts) -> String {
    match f.controller {
        Some(c) => {
            let mut out = format!("Controller: {}", c.controller.line());
            if let Some(dpo) = &c.dpo {
                let _ = write!(out, "\nData protection officer: {}", dpo.line());
            }
            out
        }
        None => "Controller and data protection officer: not set in Kith (set them before sending)".into(),
    }
}

/// The people and records concerned: the audit log's count, else the DPO's estimate.
fn numbers(f: &DraftFacts) -> (String, String) {
    let people = if f.affected.people > 0 {
        format!("{} (from the audit log)", f.affected.people)
    } else {
        f.input.approximate_people.map(|n| format!("about {n}")).unwrap_or_else(|| "not yet known".into())
    };
    let records = if f.affected.events > 0 {
        format!("{} reads or changes (from the audit log)", f.affected.events)
    } else {
        f.input.approximate_records.map(|n| format!("about {n}")).unwrap_or_else(|| "not yet known".into())
    };
    (people, records)
}

/// The Art. 33(3) notification to the supervisory authority, as Markdown.
pub fn authority_notification(f: &DraftFacts) -> String {
    let i = f.input;
    let (people, records) = numbers(f);
    let mut out = String::new();
    let _ = writeln!(out, "# Notification of a personal data breach (Art. 33 GDPR)\n");
    let _ = writeln!(out, "Reference: {}\n", f.id);
    let _ = writeln!(out, "## Contact (Art. 33(3)(b))\n\n{}\n", contact(f));
    let _ = writeln!(out, "## Timing\n");
    let _ = writeln!(out, "- Became aware: {}", f.aware_at);
    let _ = writeln!(out, "- Notification due: {} (72 hours after becoming aware)", f.due_at);
    if let (Some(from), to) = (&i.occurred_from, &i.occurred_to) {
        let _ = writeln!(
            out,
            "- Breach occurred: from {from}{}",
            to.as_deref().map(|t| format!(" to {t}")).unwrap_or_default()
        );
    }
    if f.notified_late {
        let _ = writeln!(
            out,
            "- Reasons for the delay (Art. 33(1)): {}",
            i.delay_reasons.as_deref().unwrap_or("not given")
        );
    }
    let _ = writeln!(out, "\n## Nature of the breach (Art. 33(3)(a))\n\n{}\n", i.nature);
    let _ = writeln!(out, "- Categories of data subjects: {}", or_unknown(&i.subject_categories.join(", ")));
    let _ = writeln!(out, "- Approximate number of data subjects: {people}");
    let mut categories: Vec<String> = i.data_categories.clone();
    categories.extend(f.affected.by_category.iter().map(|(c, n)| format!("{c} ({n} people)")));
    let _ = writeln!(out, "- Categories of personal data: {}", or_unknown(&categories.join(", ")));
    let _ = writeln!(out, "- Approximate number of personal data records: {records}");
    let _ = writeln!(out, "\n## Likely consequences (Art. 33(3)(c))\n\n{}\n", or_unknown(&i.consequences));
    let _ = writeln!(out, "## Measures (Art. 33(3)(d))\n");
    let _ = writeln!(out, "- Taken: {}", or_unknown(&i.measures_taken));
    let _ = writeln!(
        out,
        "- Proposed, including to mitigate its possible adverse effects: {}",
        or_unknown(&i.measures_proposed)
    );
    let _ = writeln!(
        out,
        "\n## Risk\n\n- Assessed as: {}\n- Data unintelligible to unauthorised persons (encrypted): {}",
        match i.risk {
            Risk::None => "unlikely to result in a risk",
            Risk::Risk => "a risk to the rights and freedoms of people",
            Risk::HighRisk => "a high risk to the rights and freedoms of people",
        },
        if i.data_unintelligible { "yes" } else { "no" }
    );
    if !f.updates.is_empty() {
        let _ = writeln!(out, "\n## Information given in phases (Art. 33(4))\n");
        for (at, text) in &f.updates {
            let _ = writeln!(out, "- {at}: {text}");
        }
    }
    out
}

/// The Art. 34 notice to each affected person, in plain language: a subject and a text.
pub fn people_notice(f: &DraftFacts) -> (String, String) {
    let i = f.input;
    let subject = "About a security incident affecting your personal data".to_string();
    let mut out = String::new();
    let _ = writeln!(out, "We are writing to tell you about a security incident that affected your personal data.\n");
    let _ = writeln!(out, "What happened\n{}\n", i.nature);
    let _ = writeln!(out, "What this may mean for you\n{}\n", or_unknown(&i.consequences));
    let _ = writeln!(out, "What we have done\n{}\n", or_unknown(&i.measures_taken));
    if !i.measures_proposed.is_empty() {
        let _ = writeln!(out, "What we will do, and what you can do\n{}\n", i.measures_proposed);
    }
    let _ = writeln!(out, "Who to contact\n{}", contact(f));
    let _ = writeln!(out, "\nYou may also complain to a data protection supervisory authority.");
    (subject, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> BreachInput {
        serde_json::from_value(serde_json::json!({
            "title": "Lost laptop", "aware_at": "2026-03-27T10:00:00+01:00", "nature": "A laptop was stolen.",
            "risk": "high_risk", "data_categories": ["user.contact.email"], "subject_categories": ["customer"]
        }))
        .unwrap()
    }

    fn at(text: &str) -> i64 {
        unix_millis(parse_timestamp("t", text).unwrap())
    }

    #[test]
    fn the_clock_runs_72_hours_across_months_and_daylight_saving() {
        let now = at("2026-12-01T00:00:00Z");
        let mut spring = input();
        let aware = spring.validate(now).unwrap();
        // Clocks in Europe went forward on 29 March 2026: 72 hours end at 11:00 summer time.
        assert_eq!(authority_due(aware), at("2026-03-30T11:00:00+02:00"));
        let mut autumn = BreachInput { aware_at: "2026-10-24T18:30:00+02:00".into(), ..input() };
        let aware = autumn.validate(now).unwrap();
        assert_eq!(authority_due(aware), at("2026-10-27T17:30:00+01:00"));
        let mut month_end = BreachInput { aware_at: "2028-02-27T23:00:00Z".into(), ..input() };
        assert_eq!(authority_due(month_end.validate(now + 10 * 365 * 86_400_000).unwrap()), at("2028-03-01T23:00:00Z"));
        let due = at("2026-03-30T09:00:00Z");
        let s = |now| clock_state(&spring, due, None, now);
        assert_eq!(s(due - 25 * HOUR_MS), ClockState::Open);
        assert_eq!(s(due - HOUR_MS), ClockState::DueSoon);
        assert_eq!(s(due), ClockState::DueSoon, "the 72nd hour itself is still in time");
        assert_eq!(s(due + 1), ClockState::Overdue);
        assert_eq!(clock_state(&spring, due, Some(due - 1), due + 1), ClockState::Notified);
        let none = BreachInput { risk: Risk::None, ..input() };
        assert_eq!(clock_state(&none, due, None, due + 1), ClockState::NotRequired);
    }

    #[test]
    fn the_risk_decides_the_notifications() {
        assert_eq!(notifications_due(&input()), (true, true));
        assert_eq!(notifications_due(&BreachInput { data_unintelligible: true, ..input() }), (true, false));
        assert_eq!(notifications_due(&BreachInput { risk: Risk::Risk, ..input() }), (true, false));
        assert_eq!(notifications_due(&BreachInput { risk: Risk::None, ..input() }), (false, false));
        let due = at("2026-03-30T09:00:00Z");
        let late = check_notification(&input(), due, due + 1, due + 2).unwrap_err();
        assert!(late.detail.starts_with("delay_reasons"));
        let explained = BreachInput { delay_reasons: Some("the scope took days to establish".into()), ..input() };
        check_notification(&explained, due, due + 1, due + 2).unwrap();
        check_notification(&input(), due, due - 1, due).unwrap();
        check_notification(&input(), due, due, due).unwrap();
        let before_aware = check_notification(&input(), due, due - 73 * HOUR_MS, due).unwrap_err();
        assert!(before_aware.detail.contains("not before aware_at"));
    }

    #[test]
    fn bad_input_is_named() {
        let now = at("2026-12-01T00:00:00Z");
        let future = BreachInput { aware_at: "2026-12-02T00:00:00Z".into(), ..input() };
        assert!(future.clone().validate(now).unwrap_err().detail.starts_with("aware_at"));
        let backwards = BreachInput {
            occurred_from: Some("2026-03-02T00:00:00Z".into()),
            occurred_to: Some("2026-03-01T00:00:00Z".into()),
            ..input()
        };
        assert!(backwards.clone().validate(now).unwrap_err().detail.starts_with("occurred_to"));
        let unknown = BreachInput { subject_categories: vec!["martian".into()], ..input() };
        assert!(unknown.clone().validate(now).unwrap_err().detail.starts_with("subject_categories[0]"));
        let mut scope = BreachScope {
            from: "2026-11-02T00:00:00Z".into(),
            to: "2026-11-01T00:00:00Z".into(),
            ..Default::default()
        };
        assert!(scope.validate(now).is_err());
        let mut scope = BreachScope {
            token_id: Some(Uuid::nil()),
            api_key_id: Some(Uuid::nil()),
            from: "2026-11-01T00:00:00Z".into(),
            to: "2026-11-02T00:00:00Z".into(),
            ..Default::default()
        };
        assert!(scope.validate(now).unwrap_err().detail.contains("name one"));
    }

    #[test]
    fn drafts_hold_every_item_of_article_33_3() {
        let mut i = input();
        i.consequences = "Phishing is possible.".into();
        i.measures_taken = "The laptop was wiped remotely.".into();
        i.measures_proposed = "Change your password.".into();
        let details: ControllerDetails = serde_json::from_value(serde_json::json!({
            "controller": {"name": "Shop GmbH", "email": "privacy@shop.example"},
            "dpo": {"name": "Dora Data", "email": "dpo@shop.example"}}))
        .unwrap();
        let affected =
            AffectedSummary { people: 3, events: 7, by_category: BTreeMap::from([("contact_details".into(), 3)]) };
        let f = DraftFacts {
            id: Uuid::nil(),
            input: &i,
            aware_at: "a".into(),
            due_at: "d".into(),
            notified_late: false,
            affected: &affected,
            controller: Some(&details),
            updates: vec![],
        };
        let text = authority_notification(&f);
        for item in [
            "Art. 33(3)(a)",
            "Categories of data subjects: customer",
            "number of data subjects: 3",
            "contact_details (3 people)",
            "records: 7",
            "Dora Data, dpo@shop.example",
            "Phishing is possible.",
            "wiped remotely",
            "Change your password.",
        ] {
            assert!(text.contains(item), "{item}:\n{text}");
        }
        let (_, notice) = people_notice(&f);
        assert!(
            notice.contains("A laptop was stolen.")
                && notice.contains("Dora Data")
                && notice.contains("Change your password.")
        );
    }
}
