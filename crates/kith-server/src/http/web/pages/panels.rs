//! The sections of a contact's page beside its fields: the timeline, the
//! consent panel, restriction and objections, the access log. Each is
//! shown only to a reader whose role may see it (asked of the authoriser
//! first, so a page view never records refusals), and each read is the
//! service's, audited as through the API.

use super::contacts::text;
use crate::auth::caller::Caller;
use crate::auth::Action;
use crate::http::web::Lang;
use crate::listing::ListParams;
use crate::service::{audit, consents, purposes, Services};
use kith_core::consent::current_state;
use kith_core::model::{Deal, Interaction, Purchase};
use kith_core::{EntityBody, EntityKind};
use serde_json::Value;
use uuid::Uuid;

/// One entry of the timeline.
pub struct Moment {
    pub when: String,
    pub what: String,
    pub detail: String,
    /// The record's own page, where it has one.
    pub link: Option<String>,
}

/// Up to 50 records of kind `B` about the person, if the reader may read them.
async fn about_person<B: EntityBody>(svc: &Services, who: &Caller, person: Uuid) -> Option<Vec<Value>> {
    svc.authorizer.authorize(&who.principal, Action::Read, B::KIND).ok()?;
    let params = ListParams { contact_id: Some(person), limit: Some(50), ..Default::default() };
    svc.records.list::<B>(who, params).await.ok().map(|page| page.items)
}

pub async fn timeline(svc: &Services, who: &Caller, person: Uuid, lang: &Lang) -> Option<Vec<Moment>> {
    let interactions = about_person::<Interaction>(svc, who, person).await;
    let deals = about_person::<Deal>(svc, who, person).await;
    let purchases = about_person::<Purchase>(svc, who, person).await;
    if interactions.is_none() && deals.is_none() && purchases.is_none() {
        return None;
    }
    let mut moments = Vec::new();
    for i in interactions.unwrap_or_default() {
        let what = lang.t1("timeline-interaction", "kind", text(&i, "kind"));
        moments.push(Moment { when: text(&i, "occurred_at"), what, detail: text(&i, "subject"), link: None });
    }
    for d in deals.unwrap_or_default() {
        let what = lang.t1("timeline-deal", "stage", text(&d, "stage"));
        let amount = [lang.number(&text(&d, "amount")), text(&d, "currency")].join(" ").trim().to_string();
        let detail = [text(&d, "title"), amount].join(" · ").trim_end_matches(" · ").to_string();
        let link = Some(format!("/deals#deal-{}", text(&d, "id")));
        moments.push(Moment { when: text(&d, "updated_at"), what, detail, link });
    }
    for p in purchases.unwrap_or_default() {
        let detail = [lang.number(&text(&p, "total")), text(&p, "currency")].join(" ").trim().to_string();
        let link = Some(format!("/purchases/{}", text(&p, "id")));
        moments.push(Moment { when: text(&p, "purchased_at"), what: lang.t("timeline-purchase"), detail, link });
    }
    moments.sort_by(|a, b| b.when.cmp(&a.when));
    Some(moments.into_iter().map(|m| Moment { when: lang.date(&m.when), ..m }).collect())
}

/// A line of the consent panel.
pub struct Choice {
    pub purpose: String,
    pub given: bool,
    pub at: String,
    pub notice: String,
    pub method: String,
}

/// What the consent panel shows, and what its form offers.
pub struct ConsentPanel {
    pub intact: bool,
    pub current: Vec<Choice>,
    pub ledger: Vec<Choice>,
    /// The form, when the reader may record a choice.
    pub form: Option<ConsentForm>,
}

/// What the form to record a choice offers.
pub struct ConsentForm {
    /// Purposes and their names.
    pub purposes: Vec<(String, String)>,
    pub notice_versions: Vec<String>,
    /// Methods and their labels.
    pub methods: Vec<(String, String)>,
}

/// The ways staff record a consent given to them.
const STAFF_METHODS: &[&str] = &["in_person", "phone", "web_form", "api"];

pub async fn consent(svc: &Services, who: &Caller, person: Uuid, lang: &Lang) -> Option<ConsentPanel> {
    let view = consents::ledger(svc, who, person).await.ok()?;
    let choice = |e: &kith_core::consent::ConsentEntry| Choice {
        purpose: e.purpose.clone(),
        given: e.granted,
        at: e.at.chars().take(16).collect::<String>().replace('T', " "),
        notice: e.notice_version.clone(),
        method: lang.t(&format!("method-{}", e.method.as_str())),
    };
    let counted: &[_] = if view.intact { &view.entries } else { &[] };
    let current = current_state(counted).values().map(|e| choice(e)).collect();
    let ledger = view.entries.iter().rev().map(choice).collect();
    let may_record = svc.authorizer.authorize(&who.principal, Action::Update, EntityKind::Contacts).is_ok();
    let form = match (may_record, consents::notices(svc, who).await) {
        (true, Ok(notices)) if !notices.is_empty() => {
            let usable = purposes::usable(svc, who).await.unwrap_or_default();
            let purposes = usable.into_iter().map(|p| (p.key, p.name)).collect();
            let versions = notices.into_iter().map(|n| n.version).collect();
            let methods = STAFF_METHODS.iter().map(|m| (m.to_string(), lang.t(&format!("method-{m}")))).collect();
            Some(ConsentForm { purposes, notice_versions: versions, methods })
        }
        _ => None,
    };
    Some(ConsentPanel { intact: view.intact, current, ledger, form })
}

/// Whether processing is restricted, and the purposes objected to.
pub struct RestrictionPanel {
    pub restricted: bool,
    pub objections: String,
}

pub async fn restriction(svc: &Services, who: &Caller, person: Uuid, _lang: &Lang) -> Option<RestrictionPanel> {
    svc.authorizer.authorize_purposes(&who.principal, true).ok()?;
    let state = consents::restriction_state(svc, who, person).await.ok()?;
    let objections = state.objections.into_iter().collect::<Vec<_>>().join(", ");
    Some(RestrictionPanel { restricted: state.restricted, objections })
}

/// A line of the access log.
pub struct Access {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub what: String,
    pub fields: String,
    pub purpose: String,
}

pub async fn access(svc: &Services, who: &Caller, person: Uuid) -> Option<Vec<Access>> {
    svc.authorizer.authorize_audit(&who.principal).ok()?;
    let latest = audit::Filters { subject_id: Some(person), newest_first: true, ..Default::default() };
    let page = audit::events(svc, who, latest, Some(50), None).await.ok()?;
    let name = |v: Result<Value, serde_json::Error>| v.ok().as_ref().and_then(Value::as_str).map(str::to_string);
    let lines = page.events.iter().map(|e| Access {
        at: crate::clock::rfc3339_millis(e.at).chars().take(19).collect::<String>().replace('T', " "),
        actor: e.actor.clone(),
        action: name(serde_json::to_value(e.action)).unwrap_or_default(),
        what: e.entity.clone().unwrap_or_default(),
        fields: e.fields.join(", "),
        purpose: e.purpose.clone().unwrap_or_default(),
    });
    Some(lines.collect())
}

/// A recipient that received the person's data (Art. 15(1)(c)).
pub struct Received {
    pub recipient: String,
    pub country: String,
    pub categories: String,
    pub first: String,
    pub last: String,
}

/// Who received the person's data, for those who read the register.
pub async fn recipients(svc: &Services, who: &Caller, person: Uuid, lang: &Lang) -> Option<Vec<Received>> {
    let list = crate::service::recipients::of_person(svc, who, person).await.ok()?;
    let day = |at: i64| lang.date(&crate::clock::rfc3339_millis(at));
    let lines = list.iter().map(|d| Received {
        recipient: d.recipient.clone(),
        country: d.country.clone().unwrap_or_default(),
        categories: d.categories.iter().map(|c| lang.t(&format!("class-{c}"))).collect::<Vec<_>>().join(", "),
        first: day(d.first_at),
        last: day(d.last_at),
    });
    Some(lines.collect())
}
