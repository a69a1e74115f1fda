//! The deal pipeline as a board: one column per stage, each deal a card
//! with buttons to move it a stage on (or back). A move is the record
//! service's update, audited as any change through the API.

use super::contacts::text;
use super::{error, render, Chrome};
use crate::auth::caller::Caller;
use crate::http::extract::path_id;
use crate::http::web::session::PageSession;
use crate::http::web::Lang;
use crate::listing::ListParams;
use crate::AppState;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use kith_core::model::{Deal, DealStage};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The stages in pipeline order.
pub const STAGES: [DealStage; 6] = [
    DealStage::Lead,
    DealStage::Qualified,
    DealStage::Proposal,
    DealStage::Negotiation,
    DealStage::Won,
    DealStage::Lost,
];
/// Cards per column (the newest changes first).
const PER_STAGE: u32 = 50;

/// A deal on the board, as far as the reader may see it.
pub struct Card {
    pub id: String,
    pub title: String,
    pub amount: String,
    pub contact: Option<String>,
    /// Where it may go from here: (stage key, button text).
    pub moves: Vec<(String, String)>,
}

pub struct Column {
    pub key: String,
    pub name: String,
    pub cards: Vec<Card>,
    /// Whether the column has more than it shows.
    pub more: bool,
}

#[derive(Template)]
#[template(path = "deals.html")]
pub struct BoardPage {
    pub chrome: Chrome,
    pub columns: Vec<Column>,
    pub may_edit: bool,
}

pub fn stage_name(lang: &Lang, stage: DealStage) -> String {
    lang.t(&format!("stage-{}", stage.as_str()))
}

/// An open deal moves a stage back or on, or is lost; a closed one reopens.
fn moves_from(stage: DealStage, lang: &Lang) -> Vec<(String, String)> {
    use DealStage::*;
    let open = [Lead, Qualified, Proposal, Negotiation, Won];
    let to = |s: DealStage, text: String| (s.as_str().to_string(), text);
    match open.iter().position(|s| *s == stage) {
        Some(i) if stage != Won => {
            let mut moves = Vec::new();
            if let Some(back) = i.checked_sub(1).map(|b| open[b]) {
                moves.push(to(back, format!("← {}", stage_name(lang, back))));
            }
            let on = open[i + 1];
            moves.push(to(on, format!("{} →", stage_name(lang, on))));
            moves.push(to(Lost, stage_name(lang, Lost)));
            moves
        }
        _ => vec![to(Negotiation, lang.t("deal-reopen"))],
    }
}

fn card(record: &Value, stage: DealStage, lang: &Lang) -> Card {
    let amount = [lang.number(&text(record, "amount")), text(record, "currency")].join(" ").trim().to_string();
    Card {
        id: text(record, "id"),
        title: text(record, "title"),
        amount,
        contact: record.get("contact_id").and_then(Value::as_str).map(str::to_string),
        moves: moves_from(stage, lang),
    }
}

pub async fn board(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
) -> Response {
    let chrome = Chrome::load(&state, lang, &who, &session, "/deals").await;
    let mut columns = Vec::with_capacity(STAGES.len());
    for stage in STAGES {
        let params = ListParams {
            stage: Some(stage.as_str().into()),
            sort: Some("-updated_at".into()),
            limit: Some(PER_STAGE),
            ..Default::default()
        };
        let page = match state.records.list::<Deal>(&who, params).await {
            Ok(page) => page,
            Err(e) => return error(chrome, e),
        };
        columns.push(Column {
            key: stage.as_str().into(),
            name: stage_name(&chrome.lang, stage),
            cards: page.items.iter().map(|d| card(d, stage, &chrome.lang)).collect(),
            more: page.next_cursor.is_some(),
        });
    }
    let may_edit =
        state.authorizer.authorize(&who.principal, crate::auth::Action::Update, kith_core::EntityKind::Deals).is_ok();
    render(StatusCode::OK, &BoardPage { chrome, columns, may_edit })
}

#[derive(Deserialize)]
pub struct Move {
    stage: String,
}

/// Moves a deal to another stage: an update of its `stage`, audited.
pub async fn move_stage(
    State(state): State<AppState>,
    lang: Lang,
    who: Caller,
    Extension(session): Extension<PageSession>,
    Path(raw): Path<String>,
    Form(form): Form<Move>,
) -> Response {
    let moved = match path_id(&raw) {
        Ok(id) => {
            let mut change = Map::new();
            change.insert("stage".into(), json!(form.stage));
            state.records.update::<Deal>(&who, id, change).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    match moved {
        Ok(()) => Redirect::to(&format!("/deals#deal-{raw}")).into_response(),
        Err(e) => error(Chrome::load(&state, lang, &who, &session, "/deals").await, e),
    }
}
