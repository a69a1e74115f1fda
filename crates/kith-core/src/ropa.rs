//! The record of processing activities (Art. 30), made from what Kith
//! already knows: the controller's details, the purposes catalogue, the
//! register of recipients with their transfers, the retention periods and
//! the measures Kith applies. Rendered as JSON, Markdown and HTML, and as
//! fideslang `system` resources for tools that speak the taxonomy.

use crate::controller::{ClientController, ControllerDetails};
use crate::purpose::{LawfulBasis, Purpose, SpecialCategoryCondition};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Write;
use utoipa::ToSchema;

/// fideslang data subjects of the people a CRM holds.
pub const DATA_SUBJECTS: [&str; 2] = ["customer", "prospect"];

/// A recipient as the record lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RopaRecipient {
    pub id: String,
    pub name: String,
    /// `processor`, `sub_processor`, `independent_controller`, `joint_controller`.
    pub role: String,
    pub country: String,
    pub country_name: Option<String>,
    pub purposes: Vec<String>,
    pub data_categories: Vec<String>,
    pub contract_reference: Option<String>,
    pub contract_date: Option<String>,
    pub contact: Option<String>,
}

/// A transfer outside the EEA and its safeguard (Art. 30(1)(e), 44–49).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RopaTransfer {
    pub recipient: String,
    pub country: String,
    pub country_name: Option<String>,
    /// `adequacy`, `dpf`, `scc`, `bcr`, `derogation`, or none.
    pub mechanism: Option<String>,
    /// The decision, the clauses' module, or the derogation's ground.
    pub safeguard: Option<String>,
    /// Whether data may go to it today; when not, why.
    pub allowed: bool,
    pub refusal: Option<String>,
}

/// One processing activity: a purpose of the catalogue (Art. 30(1)(b)–(f)).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    pub purpose: String,
    pub name: String,
    pub description: Option<String>,
    pub lawful_basis: LawfulBasis,
    pub balancing_note: Option<String>,
    pub special_category_condition: Option<SpecialCategoryCondition>,
    /// fideslang data-subject keys.
    pub data_subjects: Vec<String>,
    /// fideslang data-category keys.
    pub data_categories: Vec<String>,
    /// Recipients registered for this purpose, by name.
    pub recipients: Vec<String>,
    /// Of those, the ones outside the EEA.
    pub transfers: Vec<String>,
    /// Days data kept for this purpose may be kept after the person's last activity.
    pub retention_days: u32,
}

/// A technical or organisational measure Kith applies (Art. 32(1), 30(1)(g)).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Measure {
    pub key: String,
    pub title: String,
    pub detail: String,
}

/// Periods of categories of records with their own (Art. 30(1)(f)).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CategoryRetention {
    pub interactions_days: Option<u32>,
    pub purchases_days: Option<u32>,
    pub deals_days: Option<u32>,
}

/// The record of processing activities.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ropa {
    pub generated_at: String,
    /// Art. 30(1)(a): the controller, its representative and DPO; `null`
    /// until set (a gap the record names).
    pub controller: Option<ControllerDetails>,
    pub activities: Vec<Activity>,
    pub recipients: Vec<RopaRecipient>,
    pub transfers: Vec<RopaTransfer>,
    pub category_retention: CategoryRetention,
    pub security_measures: Vec<Measure>,
    /// Art. 30(2), where this installation processes for other controllers.
    pub processor_activities: Vec<ClientController>,
    /// What the record cannot state yet, for the DPO to complete.
    pub gaps: Vec<String>,
}

/// What the record is made of.
pub struct RopaFacts {
    pub generated_at: String,
    pub controller: Option<ControllerDetails>,
    pub purposes: Vec<Purpose>,
    pub recipients: Vec<RopaRecipient>,
    pub transfers: Vec<RopaTransfer>,
    pub category_retention: CategoryRetention,
    pub security_measures: Vec<Measure>,
}

/// Builds the record from its facts.
pub fn record(facts: RopaFacts) -> Ropa {
    let activities: Vec<Activity> = facts
        .purposes
        .iter()
        .map(|p| {
            let recipients: Vec<String> =
                facts.recipients.iter().filter(|r| r.purposes.contains(&p.key)).map(|r| r.name.clone()).collect();
            let transfers = facts
                .transfers
                .iter()
                .filter(|t| recipients.contains(&t.recipient))
                .map(|t| t.recipient.clone())
                .collect();
            Activity {
                purpose: p.key.clone(),
                name: p.name.clone(),
                description: p.description.clone(),
                lawful_basis: p.lawful_basis,
                balancing_note: p.balancing_note.clone(),
                special_category_condition: p.special_category_condition,
                data_subjects: DATA_SUBJECTS.iter().map(|s| s.to_string()).collect(),
                data_categories: p.data_categories.clone(),
                recipients,
                transfers,
                retention_days: p.retention_days,
            }
        })
        .collect();
    let mut gaps = Vec::new();
    match &facts.controller {
        None => gaps.push("the controller's name and contact details are not set (Art. 30(1)(a))".to_string()),
        Some(c) if c.dpo.is_none() => {
            gaps.push("no data protection officer is named; name one where Art. 37(1) requires it".to_string())
        }
        Some(_) => {}
    }
    for t in facts.transfers.iter().filter(|t| !t.allowed) {
        gaps.push(format!(
            "no data may go to {} in {}: {}",
            t.recipient,
            t.country,
            t.refusal.clone().unwrap_or_default()
        ));
    }
    let processor_activities = facts.controller.as_ref().map(|c| c.processing_for.clone()).unwrap_or_default();
    Ropa {
        generated_at: facts.generated_at,
        controller: facts.controller,
        activities,
        recipients: facts.recipients,
        transfers: facts.transfers,
        category_retention: facts.category_retention,
        security_measures: facts.security_measures,
        processor_activities,
        gaps,
    }
}

fn snake<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn days(d: Option<u32>) -> String {
    d.map(|d| format!("{d} days")).unwrap_or_else(|| "as its purposes".into())
}

/// The record as Markdown, for people.
pub fn markdown(r: &Ropa) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Record of processing activities (Art. 30 GDPR)\n\nGenerated {}\n", r.generated_at);
    let _ = writeln!(out, "## Controller (Art. 30(1)(a))\n");
    match &r.controller {
        Some(c) => {
            for (name, line) in c.lines() {
                let _ = writeln!(out, "- {}: {line}", ControllerDetails::label(name));
            }
        }
        None => {
            let _ = writeln!(out, "- Not set.");
        }
    }
    let _ = writeln!(out, "\n## Processing activities (Art. 30(1)(b)–(f))\n");
    for a in &r.activities {
        let _ = writeln!(out, "### {} (`{}`)\n", a.name, a.purpose);
        if let Some(d) = &a.description {
            let _ = writeln!(out, "{d}\n");
        }
        let _ = writeln!(out, "- Lawful basis: {}", snake(&a.lawful_basis));
        if let Some(note) = &a.balancing_note {
            let _ = writeln!(out, "- Balancing test: {note}");
        }
        if let Some(c) = &a.special_category_condition {
            let _ = writeln!(out, "- Special categories under Art. 9(2): {}", snake(c));
        }
        let _ = writeln!(out, "- Data subjects: {}", a.data_subjects.join(", "));
        let _ = writeln!(out, "- Data categories: {}", a.data_categories.join(", "));
        let none = || "none".to_string();
        let list = |l: &[String]| if l.is_empty() { none() } else { l.join(", ") };
        let _ = writeln!(out, "- Recipients: {}", list(&a.recipients));
        let _ = writeln!(out, "- Transfers outside the EEA: {}", list(&a.transfers));
        let _ = writeln!(out, "- Erased {} days after the person's last activity\n", a.retention_days);
    }
    let _ = writeln!(out, "## Recipients (Art. 30(1)(d))\n");
    if r.recipients.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for x in &r.recipients {
        let contract = x.contract_reference.as_deref().map(|c| format!("; contract {c}")).unwrap_or_default();
        let _ = writeln!(out, "- {} ({}, {}{contract}): {}", x.name, x.role, x.country, x.purposes.join(", "));
    }
    let _ = writeln!(out, "\n## Transfers to third countries (Art. 30(1)(e))\n");
    if r.transfers.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for t in &r.transfers {
        let mechanism = t.mechanism.clone().unwrap_or_else(|| "no mechanism".into());
        let safeguard = t.safeguard.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
        let state =
            if t.allowed { String::new() } else { format!(" — refused: {}", t.refusal.clone().unwrap_or_default()) };
        let _ = writeln!(out, "- {} in {}: {mechanism}{safeguard}{state}", t.recipient, t.country);
    }
    let c = &r.category_retention;
    let _ = writeln!(out, "\n## Time limits for erasure (Art. 30(1)(f))\n");
    let _ = writeln!(out, "- Each person: when the longest period of the purposes their data is kept for has run since their last activity (see each activity)");
    let _ = writeln!(out, "- Interactions: {}", days(c.interactions_days));
    let _ = writeln!(out, "- Purchases: {}", days(c.purchases_days));
    let _ = writeln!(out, "- Deals: {}", days(c.deals_days));
    let _ = writeln!(out, "\n## Technical and organisational security measures (Art. 30(1)(g), 32(1))\n");
    for m in &r.security_measures {
        let _ = writeln!(out, "- {}: {}", m.title, m.detail);
    }
    if !r.processor_activities.is_empty() {
        let _ = writeln!(out, "\n## Processing on behalf of other controllers (Art. 30(2))\n");
        for p in &r.processor_activities {
            let _ = writeln!(out, "- For {}: {}", p.controller.line(), p.processing.join("; "));
            if let Some(dpo) = &p.dpo {
                let _ = writeln!(out, "  - Their data protection officer: {}", dpo.line());
            }
        }
    }
    if !r.gaps.is_empty() {
        let _ = writeln!(out, "\n## To complete\n");
        for g in &r.gaps {
            let _ = writeln!(out, "- {g}");
        }
    }
    out
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The record as a standalone HTML document, for people: the Markdown's
/// content, every text escaped.
pub fn html(r: &Ropa) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Record of processing activities</title></head><body>\n",
    );
    let mut in_list = false;
    for line in markdown(r).lines() {
        let (tag, text) = if let Some(t) = line.strip_prefix("### ") {
            ("h3", t)
        } else if let Some(t) = line.strip_prefix("## ") {
            ("h2", t)
        } else if let Some(t) = line.strip_prefix("# ") {
            ("h1", t)
        } else if let Some(t) = line.strip_prefix("- ").or_else(|| line.strip_prefix("  - ")) {
            ("li", t)
        } else {
            ("p", line)
        };
        if tag == "li" && !in_list {
            out.push_str("<ul>\n");
            in_list = true;
        } else if tag != "li" && in_list {
            out.push_str("</ul>\n");
            in_list = false;
        }
        if !text.is_empty() {
            let _ = writeln!(out, "<{tag}>{}</{tag}>", escape(&text.replace('`', "")));
        }
    }
    if in_list {
        out.push_str("</ul>\n");
    }
    out.push_str("</body></html>\n");
    out
}

/// A fides key from a name: letters, digits and `_`.
fn fides_key(prefix: &str, id: &str) -> String {
    let tail: String = id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("{prefix}_{tail}")
}

fn fideslang_basis(basis: LawfulBasis) -> &'static str {
    match basis {
        LawfulBasis::Consent => "Consent",
        LawfulBasis::Contract => "Contract",
        LawfulBasis::LegalObligation => "Legal obligations",
        LawfulBasis::VitalInterests => "Vital interests",
        LawfulBasis::PublicTask => "Public interest",
        LawfulBasis::LegitimateInterests => "Legitimate interests",
    }
}

fn fideslang_condition(condition: SpecialCategoryCondition) -> &'static str {
    use SpecialCategoryCondition::*;
    match condition {
        ExplicitConsent => "Explicit consent",
        EmploymentSocialSecurity => "Employment, social security and social protection",
        VitalInterests => "Vital interests",
        NotForProfitBody => "Not-for-profit bodies",
        MadePublicByDataSubject => "Made public by the data subject",
        LegalClaims => "Legal claims or judicial acts",
        SubstantialPublicInterest => "Reasons of substantial public interest (with a basis in law)",
        HealthOrSocialCare => "Health or social care (with a basis in law)",
        PublicHealth => "Public health (with a basis in law)",
        ArchivingResearchStatistics => "Archiving, research and statistics (with a basis in law)",
    }
}

fn fideslang_transfer_basis(mechanism: Option<&str>) -> &'static str {
    match mechanism {
        Some("adequacy" | "dpf") => "Adequacy Decision",
        Some("scc") => "SCCs",
        Some("bcr") => "BCRs",
        _ => "Other",
    }
}

/// The record as fideslang `system` resources: this installation, whose
/// privacy declarations are its purposes and whose egress names each
/// recipient, and one system per recipient.
pub fn fideslang_systems(r: &Ropa) -> Value {
    let kith_key = "kith_crm";
    let controller = r.controller.as_ref();
    let allowed_transfers: Vec<&RopaTransfer> = r.transfers.iter().filter(|t| t.allowed).collect();
    let mut transfer_bases: Vec<&str> =
        allowed_transfers.iter().map(|t| fideslang_transfer_basis(t.mechanism.as_deref())).collect();
    transfer_bases.sort();
    transfer_bases.dedup();
    let declarations: Vec<Value> = r
        .activities
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "data_use": a.purpose,
                "data_categories": a.data_categories,
                "data_subjects": a.data_subjects,
                "legal_basis_for_processing": fideslang_basis(a.lawful_basis),
                "processes_special_category_data": a.special_category_condition.is_some(),
                "special_category_legal_basis": a.special_category_condition.map(fideslang_condition),
                "retention_period": format!("{} days", a.retention_days),
                "data_shared_with_third_parties": !a.recipients.is_empty(),
                "third_parties": (!a.recipients.is_empty()).then(|| a.recipients.join(", ")),
                // fideslang refuses an empty list where the system names no egress: absent instead.
                "egress": Some(r.recipients.iter().filter(|x| a.recipients.contains(&x.name)).map(|x| fides_key("recipient", &x.id)).collect::<Vec<_>>()).filter(|e| !e.is_empty()),
            })
        })
        .collect();
    let mut systems = vec![json!({
        "fides_key": kith_key,
        "organization_fides_key": "default_organization",
        "name": "Kith CRM",
        "description": "Customer relationship management: contacts, companies, interactions, deals, purchases and consents.",
        "system_type": "Service",
        "privacy_declarations": declarations,
        "egress": Some(r.recipients.iter().map(|x| json!({"fides_key": fides_key("recipient", &x.id), "type": "system"})).collect::<Vec<_>>()).filter(|e| !e.is_empty()),
        "processes_personal_data": true,
        "does_international_transfers": !allowed_transfers.is_empty(),
        "legal_basis_for_transfers": transfer_bases,
        "responsibility": if r.processor_activities.is_empty() { json!(["Controller"]) } else { json!(["Controller", "Processor"]) },
        "legal_name": controller.map(|c| c.controller.name.clone()),
        "legal_address": controller.and_then(|c| c.controller.address.clone()),
        "dpo": controller.and_then(|c| c.dpo.as_ref()).map(|d| d.line()),
        "data_security_practices": r.security_measures.iter().map(|m| m.title.clone()).collect::<Vec<_>>().join("; "),
    })];
    for x in &r.recipients {
        let responsibility = match x.role.as_str() {
            "processor" => "Processor",
            "sub_processor" => "Sub-Processor",
            _ => "Controller",
        };
        let transfer = r.transfers.iter().find(|t| t.recipient == x.name && t.allowed);
        let declarations: Vec<Value> = x
            .purposes
            .iter()
            .map(|purpose| {
                json!({
                    "name": format!("{} for {}", purpose, x.name),
                    "data_use": purpose,
                    "data_categories": if x.data_categories.is_empty() { vec!["user".to_string()] } else { x.data_categories.clone() },
                    "data_subjects": DATA_SUBJECTS,
                })
            })
            .collect();
        systems.push(json!({
            "fides_key": fides_key("recipient", &x.id),
            "organization_fides_key": "default_organization",
            "name": x.name,
            "description": format!("{} in {}{}", x.role, x.country,
                x.contract_reference.as_deref().map(|c| format!(", contract {c}")).unwrap_or_default()),
            "system_type": "Service",
            "privacy_declarations": declarations,
            "ingress": [{"fides_key": kith_key, "type": "system"}],
            "processes_personal_data": true,
            "does_international_transfers": transfer.is_some(),
            "legal_basis_for_transfers": transfer.map(|t| vec![fideslang_transfer_basis(t.mechanism.as_deref())]).unwrap_or_default(),
            "responsibility": [responsibility],
            "legal_name": x.name,
        }));
    }
    json!({ "system": systems })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RopaFacts {
        let recipient = |name: &str, country: &str, purposes: &[&str]| RopaRecipient {
            id: format!("id-{name}"),
            name: name.into(),
            role: "processor".into(),
            country: country.into(),
            country_name: None,
            purposes: purposes.iter().map(|p| p.to_string()).collect(),
            data_categories: vec!["user.contact.email".into()],
            contract_reference: Some("DPA <1>".into()),
            contract_date: None,
            contact: None,
        };
        RopaFacts {
            generated_at: "2026-12-01T00:00:00.000Z".into(),
            controller: None,
            purposes: crate::purpose::defaults(),
            recipients: vec![
                recipient("Mailer", "IE", &["marketing.communications.email"]),
                recipient("Pune", "IN", &[]),
            ],
            transfers: vec![RopaTransfer {
                recipient: "Pune".into(),
                country: "IN".into(),
                country_name: Some("India".into()),
                mechanism: None,
                safeguard: None,
                allowed: false,
                refusal: Some("no mechanism".into()),
            }],
            category_retention: CategoryRetention::default(),
            security_measures: vec![Measure { key: "k".into(), title: "T".into(), detail: "D".into() }],
        }
    }

    #[test]
    fn every_purpose_and_recipient_is_in_the_record_and_gaps_are_named() {
        let r = record(facts());
        assert_eq!(r.activities.len(), crate::purpose::defaults().len());
        let email = r.activities.iter().find(|a| a.purpose == "marketing.communications.email").unwrap();
        assert_eq!(email.recipients, ["Mailer"]);
        assert!(r.gaps.iter().any(|g| g.contains("controller")) && r.gaps.iter().any(|g| g.contains("Pune")));
        let md = markdown(&r);
        for a in &r.activities {
            assert!(md.contains(&a.name), "{}", a.name);
        }
        assert!(md.contains("Mailer") && md.contains("Pune in IN: no mechanism"));
        let page = html(&r);
        assert!(page.contains("DPA &lt;1&gt;") && !page.contains("DPA <1>"), "escaped");
        let systems = fideslang_systems(&r);
        assert_eq!(systems["system"].as_array().unwrap().len(), 3);
        assert_eq!(systems["system"][0]["does_international_transfers"], false, "no transfer is allowed");
    }
}
