//! A row of an import file: the header names `NewOrder`'s fields, each row's cells become a
//! `NewOrder`. An empty cell is an absent field; a cell that is not the field's type is an
//! error naming the column, in the API's error shape.

use super::ImportError;
use crate::booking::NewOrder;
use crate::error::{ApiError, ApiResult};

/// A column of the file: one of `NewOrder`'s fields, under the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    ExternalId,
    AccountId,
    AccountExternalId,
    MemberId,
    MemberExternalId,
    MemberEmail,
    CardCode,
    ProgramId,
    AmountMinor,
    Currency,
    PlacedAt,
    CashbackRedeemedMinor,
    Source,
}

/// The column names a file may use, in `NewOrder`'s order, which `Column::name` relies on.
pub const COLUMNS: [&str; 13] = [
    "external_id",
    "account_id",
    "account_external_id",
    "member_id",
    "member_external_id",
    "member_email",
    "card_code",
    "program_id",
    "amount_minor",
    "currency",
    "placed_at",
    "cashback_redeemed_minor",
    "source",
];

impl Column {
    const ALL: [Column; 13] = [
        Column::ExternalId,
        Column::AccountId,
        Column::AccountExternalId,
        Column::MemberId,
        Column::MemberExternalId,
        Column::MemberEmail,
        Column::CardCode,
        Column::ProgramId,
        Column::AmountMinor,
        Column::Currency,
        Column::PlacedAt,
        Column::CashbackRedeemedMinor,
        Column::Source,
    ];
    const REQUIRED: [Column; 4] = [
        Column::ExternalId,
        Column::AmountMinor,
        Column::Currency,
        Column::PlacedAt,
    ];

    fn name(self) -> &'static str {
        COLUMNS[self as usize]
    }

    fn parse(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// The header's columns; refuses a file that could not book a single row.
pub(super) fn parse_header(headers: &csv::ByteRecord) -> Result<Vec<Column>, ImportError> {
    if headers.iter().all(<[u8]>::is_empty) {
        return Err(ImportError::NoHeader);
    }
    let mut columns = Vec::with_capacity(headers.len());
    for (i, raw) in headers.iter().enumerate() {
        let name = String::from_utf8_lossy(raw);
        let column = Column::parse(&name).ok_or_else(|| ImportError::UnknownColumn {
            name: name.into_owned(),
            position: i + 1,
        })?;
        if columns.contains(&column) {
            return Err(ImportError::DuplicateColumn(column.name()));
        }
        columns.push(column);
    }
    if let Some(c) = Column::REQUIRED.iter().find(|c| !columns.contains(c)) {
        return Err(ImportError::MissingColumn(format!("`{}`", c.name())));
    }
    if !columns.contains(&Column::AccountId) && !columns.contains(&Column::AccountExternalId) {
        return Err(ImportError::MissingColumn(
            "`account_id` or `account_external_id`".into(),
        ));
    }
    Ok(columns)
}

/// A row's cells by column; an empty cell is an absent field.
struct Cells([Option<String>; COLUMNS.len()]);

impl Cells {
    fn take(&mut self, c: Column) -> Option<String> {
        self.0[c as usize].take()
    }

    fn required(&mut self, c: Column) -> ApiResult<String> {
        self.take(c).ok_or_else(|| missing(c))
    }

    fn number(&mut self, c: Column) -> ApiResult<Option<i64>> {
        let Some(text) = self.take(c) else {
            return Ok(None);
        };
        text.parse().map(Some).map_err(|_| {
            let message = format!("must be a whole number of minor units, not `{text}`");
            ApiError::invalid(c.name(), message)
        })
    }
}

fn missing(c: Column) -> ApiError {
    ApiError::unprocessable("missing_field", "required").field(c.name())
}

pub(super) fn parse_row(columns: &[Column], record: &csv::ByteRecord) -> ApiResult<NewOrder> {
    if record.len() != columns.len() {
        return Err(malformed(columns, record.len()));
    }
    let mut cells = Cells(Default::default());
    for (&column, raw) in columns.iter().zip(record) {
        let text = std::str::from_utf8(raw)
            .map_err(|_| ApiError::invalid(column.name(), "is not valid UTF-8"))?;
        if !text.is_empty() {
            cells.0[column as usize] = Some(text.to_owned());
        }
    }
    new_order(cells)
}

/// A row whose cells do not line up with the header; names the first missing column.
fn malformed(columns: &[Column], found: usize) -> ApiError {
    let message = format!(
        "the row has {found} fields but the header has {}",
        columns.len()
    );
    let e = ApiError::unprocessable("malformed_row", message);
    match columns.get(found) {
        Some(missing) => e.field(missing.name()),
        None => e,
    }
}

/// Fields are taken in `NewOrder`'s order, so the first bad one is reported.
fn new_order(mut c: Cells) -> ApiResult<NewOrder> {
    Ok(NewOrder {
        external_id: c.required(Column::ExternalId)?,
        account_id: c.take(Column::AccountId),
        account_external_id: c.take(Column::AccountExternalId),
        member_id: c.take(Column::MemberId),
        member_external_id: c.take(Column::MemberExternalId),
        member_email: c.take(Column::MemberEmail),
        card_code: c.take(Column::CardCode),
        program_id: c.take(Column::ProgramId),
        amount_minor: c
            .number(Column::AmountMinor)?
            .ok_or_else(|| missing(Column::AmountMinor))?,
        currency: c.required(Column::Currency)?,
        placed_at: Some(c.required(Column::PlacedAt)?),
        cashback_redeemed_minor: c.number(Column::CashbackRedeemedMinor)?,
        source: c.take(Column::Source),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn records(text: &str) -> (Result<Vec<Column>, ImportError>, Vec<csv::ByteRecord>) {
        let mut reader = super::super::csv_reader(text.as_bytes());
        let header = reader.byte_headers().map(parse_header);
        let rows = reader.byte_records().filter_map(Result::ok).collect();
        (header.expect("readable"), rows)
    }

    #[test]
    fn every_column_is_a_field_of_new_order() {
        let body: serde_json::Map<String, Value> = COLUMNS
            .iter()
            .map(|&c| match c {
                "amount_minor" | "cashback_redeemed_minor" => (c.to_owned(), json!(1)),
                _ => (c.to_owned(), json!("x")),
            })
            .collect();
        assert!(serde_json::from_value::<NewOrder>(Value::Object(body)).is_ok());
        for c in Column::ALL {
            assert_eq!(Column::parse(c.name()), Some(c));
        }
    }

    #[test]
    fn a_header_with_a_bom_and_spaces_is_read() {
        let (header, _) =
            records("\u{feff}external_id, account_id ,amount_minor,currency,placed_at\n");
        assert_eq!(header.expect("header").len(), 5);
    }

    #[test]
    fn a_header_that_cannot_book_is_refused() {
        for (text, message) in [
            (
                "external_id,account_id,amount_minor,currency,placed_at,currency\n",
                "column `currency` appears twice",
            ),
            (
                "external_id,account_id,currency,placed_at\n",
                "the required column `amount_minor` is missing",
            ),
            (",\n", "the file has no header row"),
        ] {
            let (header, _) = records(text);
            let error = header.expect_err(text).to_string();
            assert!(error.starts_with(message), "{error}");
        }
    }

    #[test]
    fn empty_cells_are_absent_and_a_missing_required_one_is_named() {
        let (header, rows) = records(
            "external_id,account_external_id,member_email,amount_minor,currency,placed_at\n\
             A-1,C-7,,100,EUR,2026-11-20T10:00:00Z\n\
             A-2,C-7,,,EUR,2026-11-20T10:00:00Z\n",
        );
        let columns = header.expect("header");
        let order = parse_row(&columns, &rows[0]).expect("row 1");
        assert_eq!((order.member_email, order.amount_minor), (None, 100));
        let e = parse_row(&columns, &rows[1]).expect_err("row 2");
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("missing_field", Some("amount_minor"))
        );
    }
}
