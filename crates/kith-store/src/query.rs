//! The list query and its SQL. Column names come only from the static
//! column specs, never from input, so building the text is safe; every
//! value is bound.

use crate::Term;
use kith_core::{ClearValue, ColumnType, EntityKind};
use uuid::Uuid;

/// A half-open range `[from, to)` over a clear integer column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub entity: EntityKind,
    /// Column equals value (`Null` means IS NULL).
    pub equals: Vec<(&'static str, ClearValue)>,
    pub ranges: Vec<(&'static str, Range)>,
    /// Records that hold every one of these blind-index terms.
    pub terms: Vec<Term>,
    /// Records owned by one of these (a caller's scope); `None` for any owner.
    pub owners: Option<Vec<String>>,
    pub sort: &'static str,
    pub descending: bool,
    /// Keyset cursor: the sort value and id of the last row already seen.
    pub after: Option<(ClearValue, Uuid)>,
    pub limit: u32,
}

/// The columns every record table has besides its own.
pub(crate) const BASE_SORTABLE: [&str; 2] = ["created_at", "updated_at"];

pub(crate) fn sort_type(entity: EntityKind, column: &str) -> Option<ColumnType> {
    if BASE_SORTABLE.contains(&column) {
        return Some(ColumnType::Int);
    }
    entity.column(column).filter(|c| c.sortable).map(|c| c.ty)
}

/// A value to bind.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Arg {
    /// The argument for a clear value; `None` for NULL, which is never bound.
    fn of(v: &ClearValue) -> Option<Arg> {
        match v {
            ClearValue::Null => None,
            ClearValue::Int(i) => Some(Arg::Int(*i)),
            ClearValue::Text(t) => Some(Arg::Text(t.clone())),
        }
    }
}

pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    fn new() -> Self {
        Self { text: String::new(), args: Vec::new() }
    }

    fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }
}

/// A record row with its subject's wrapped data key, so a read needs one query.
pub(crate) const RECORD_COLUMNS: &str =
    "t.id, t.subject_id, t.owner, t.created_at, t.updated_at, t.version, t.sealed, k.kek_id, k.wrapped";

pub(crate) fn record_from(table: &str) -> String {
    format!("{table} t LEFT JOIN data_keys k ON k.subject_id = t.subject_id")
}

pub(crate) fn list_sql(q: &ListQuery) -> Result<Sql, crate::StoreError> {
    let table = q.entity.as_str();
    let sort = q.sort;
    if sort_type(q.entity, sort).is_none() {
        return Err(crate::StoreError::Corrupt(format!("{sort} is not a sortable column of {table}")));
    }
    let mut sql = Sql::new();
    let mut conditions: Vec<String> = Vec::new();
    for (column, value) in &q.equals {
        check_column(q.entity, column)?;
        match Arg::of(value) {
            None => conditions.push(format!("t.{column} IS NULL")),
            Some(arg) => {
                let p = sql.bind(arg);
                conditions.push(format!("t.{column} = {p}"));
            }
        }
    }
    for (column, range) in &q.ranges {
        check_column(q.entity, column)?;
        if let Some(from) = range.from {
            let p = sql.bind(Arg::Int(from));
            conditions.push(format!("t.{column} >= {p}"));
        }
        if let Some(to) = range.to {
            let p = sql.bind(Arg::Int(to));
            conditions.push(format!("t.{column} < {p}"));
        }
    }
    if let Some(owners) = &q.owners {
        if owners.is_empty() {
            conditions.push("1 = 0".into());
        } else {
            let placeholders: Vec<String> = owners.iter().map(|o| sql.bind(Arg::Text(o.clone()))).collect();
            conditions.push(format!("t.owner IN ({})", placeholders.join(", ")));
        }
    }
    let mut terms = q.terms.clone();
    terms.sort();
    terms.dedup();
    if !terms.is_empty() {
        let entity = sql.bind(Arg::Text(table.into()));
        let placeholders: Vec<String> = terms.iter().map(|t| sql.bind(Arg::Bytes(t.to_vec()))).collect();
        // One term (an exact lookup) needs no grouping; several must all match.
        let matching = if let [only] = placeholders.as_slice() {
            format!("SELECT record_id FROM blind_index WHERE entity = {entity} AND term = {only}")
        } else {
            format!(
                "SELECT record_id FROM blind_index WHERE entity = {entity} AND term IN ({}) \
                 GROUP BY record_id HAVING COUNT(*) = {}",
                placeholders.join(", "),
                terms.len()
            )
        };
        conditions.push(format!("t.id IN ({matching})"));
    }
    let (cmp, order) = if q.descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some((value, id)) = &q.after {
        let arg = Arg::of(value).ok_or_else(|| crate::StoreError::Corrupt("a cursor value is never NULL".into()))?;
        let v1 = sql.bind(arg.clone());
        let v2 = sql.bind(arg);
        let last = sql.bind(Arg::Text(id.to_string()));
        conditions.push(format!("(t.{sort} {cmp} {v1} OR (t.{sort} = {v2} AND t.id {cmp} {last}))"));
    }
    let limit = sql.bind(Arg::Int(i64::from(q.limit)));
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    sql.text = format!(
        "SELECT {RECORD_COLUMNS}, t.{sort} AS sort_value FROM {}{filter} ORDER BY t.{sort} {order}, t.id {order} LIMIT {limit}",
        record_from(table)
    );
    Ok(sql)
}

fn check_column(entity: EntityKind, column: &str) -> Result<(), crate::StoreError> {
    let known =
        ["owner", "created_at", "updated_at", "subject_id"].contains(&column) || entity.column(column).is_some();
    if known {
        Ok(())
    } else {
        Err(crate::StoreError::Corrupt(format!("{column} is not a column of {}", entity.as_str())))
    }
}

/// The columns of a record table, in insert order.
pub(crate) fn record_column_names(entity: EntityKind) -> Vec<&'static str> {
    let mut names = vec!["id", "subject_id", "owner", "created_at", "updated_at", "version", "sealed", "terms"];
    names.extend(entity.columns().iter().map(|c| c.name));
    names
}

/// Bound parameters per statement stay far below both engines' limits
/// (SQLite 32766, PostgreSQL 65535).
const MAX_PARAMS: usize = 8_000;

pub(crate) fn rows_per_statement(params_per_row: usize) -> usize {
    (MAX_PARAMS / params_per_row.max(1)).max(1)
}

/// `INSERT INTO table (a, b) VALUES ($1, $2), ($3, $4), ...` for `rows` rows;
/// with `numbered` false the placeholders are plain `?`. SQLite needs that
/// for long statements: it resolves each `$n` by a linear search over the
/// statement's parameters, which makes a thousand-row insert quadratic.
pub(crate) fn multi_insert_sql(table: &str, columns: &[&str], rows: usize, numbered: bool) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        values_placeholders(rows, columns.len(), numbered)
    )
}

/// `($1, $2), ($3, $4)` (or `(?, ?), (?, ?)`): the VALUES list of a
/// multi-row insert of `rows` rows of `width` columns.
pub fn values_placeholders(rows: usize, width: usize, numbered: bool) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let params: Vec<String> =
                (1..=width).map(|c| if numbered { format!("${}", r * width + c) } else { "?".to_string() }).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    tuples.join(", ")
}

pub(crate) fn update_sql(entity: EntityKind) -> String {
    // $1 id, $2 expected version, then the assignments.
    let mut sets = vec![
        "subject_id = $3".to_string(),
        "owner = $4".to_string(),
        "updated_at = $5".to_string(),
        "version = version + 1".to_string(),
        "sealed = $6".to_string(),
        "terms = $7".to_string(),
    ];
    for (i, c) in entity.columns().iter().enumerate() {
        sets.push(format!("{} = ${}", c.name, i + 8));
    }
    format!("UPDATE {} SET {} WHERE id = $1 AND version = $2", entity.as_str(), sets.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_sql_binds_every_value() {
        let q = ListQuery {
            entity: EntityKind::Deals,
            equals: vec![("stage", ClearValue::Text("won".into())), ("company_id", ClearValue::Null)],
            ranges: vec![("created_at", Range { from: Some(1), to: None })],
            terms: vec![[1; 16], [1; 16], [2; 16]],
            owners: None,
            sort: "amount",
            descending: true,
            after: Some((ClearValue::Int(5), Uuid::nil())),
            limit: 10,
        };
        let sql = list_sql(&q).unwrap();
        assert!(sql.text.contains("t.stage = $1"));
        assert!(sql.text.contains("t.company_id IS NULL"));
        assert!(sql.text.contains("HAVING COUNT(*) = 2"));
        assert!(sql.text.ends_with("ORDER BY t.amount DESC, t.id DESC LIMIT $9"), "{}", sql.text);
        assert_eq!(sql.args.len(), 9);
    }

    #[test]
    fn multi_row_inserts_number_every_parameter() {
        assert_eq!(multi_insert_sql("t", &["a", "b"], 2, true), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        assert_eq!(multi_insert_sql("t", &["a"], 2, false), "INSERT INTO t (a) VALUES (?), (?)");
        assert_eq!(rows_per_statement(8), 1000);
    }

    #[test]
    fn unknown_columns_are_refused() {
        let mut q = ListQuery {
            entity: EntityKind::Contacts,
            equals: vec![],
            ranges: vec![],
            owners: None,
            terms: vec![],
            sort: "sealed",
            descending: false,
            after: None,
            limit: 1,
        };
        assert!(list_sql(&q).is_err());
        q.sort = "created_at";
        q.equals.push(("given_name; DROP TABLE contacts", ClearValue::Null));
        assert!(list_sql(&q).is_err());
    }
}
