//! The CSV import of orders (`walletcards import-orders`). Each row is booked through
//! `booking::book_order` as an operator's: the source `erp` (the key space of the API and the
//! ERP webhook) unless the row's `source` column names another,
//! so a row gets the API's validation and idempotency: re-running a file, or importing orders
//! the webhook already delivered, counts nothing twice. The file is read as a stream; a bad row
//! is reported and skipped, a database failure stops the import.

use std::io::Read;

use serde::Serialize;

use crate::audit::Actor;
use crate::booking::{self, Booked, BookingError};
use crate::error::ApiError;
use crate::store::Store;

mod row;

pub use row::COLUMNS;

/// How far an import has got; given to the observer after every row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub rows: u64,
    /// Bytes of the file read so far.
    pub bytes: u64,
    pub booked: u64,
    pub duplicate: u64,
    pub rejected: u64,
}

/// What an import did: rows booked, rows that replayed an order booked before, rows refused.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    pub booked: u64,
    pub duplicate: u64,
    pub rejected: u64,
    pub errors: Vec<RowError>,
}

/// Why one row was refused, with the API's error code and field.
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    /// 1-based number of the data row (the header is not a row).
    pub row: u64,
    /// 1-based line of the file the row starts on.
    pub line: u64,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {} (line {}): ", self.row, self.line)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{} [{}]", self.message, self.code)
    }
}

/// An import that could not start, or stopped; rows before the stop are booked.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has no header row; its first line must name the columns: {}", COLUMNS.join(", "))]
    NoHeader,
    #[error("unknown column `{name}` (column {position}); the columns are: {}", COLUMNS.join(", "))]
    UnknownColumn { name: String, position: usize },
    #[error("column `{0}` appears twice")]
    DuplicateColumn(&'static str),
    #[error("the required column {0} is missing")]
    MissingColumn(String),
    #[error("reading the file failed after row {}", done.rows())]
    Read {
        #[source]
        source: csv::Error,
        done: ImportSummary,
    },
    #[error(
        "row {row} (line {line}): {message} [{code}]; the import stopped, the rows before it \
         are booked and re-running the file is safe"
    )]
    Stopped {
        row: u64,
        line: u64,
        code: &'static str,
        message: String,
        done: ImportSummary,
    },
}

impl ImportError {
    fn read(source: csv::Error, done: ImportSummary) -> Self {
        ImportError::Read { source, done }
    }

    fn stopped((row, line): (u64, u64), e: ApiError, done: ImportSummary) -> Self {
        let (code, message) = (e.code, e.message);
        ImportError::Stopped {
            row,
            line,
            code,
            message,
            done,
        }
    }

    /// What was done before the import stopped; `None` when it stopped at the header.
    pub fn partial(&self) -> Option<&ImportSummary> {
        match self {
            ImportError::Read { done, .. } | ImportError::Stopped { done, .. } => Some(done),
            _ => None,
        }
    }
}

impl ImportSummary {
    pub fn rows(&self) -> u64 {
        self.booked + self.duplicate + self.rejected
    }

    /// Counts a row's booking; a failure on our side is handed back to stop the import.
    fn count(
        &mut self,
        at: (u64, u64),
        outcome: Result<Booked, BookingError>,
    ) -> Result<(), ApiError> {
        match outcome {
            Ok(Booked::Replayed(_)) => self.duplicate += 1,
            Ok(Booked::Created(_)) => self.booked += 1,
            Err(e) if e.is_refusal() => self.reject(at, e.into()),
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Counts a refused row, with the API's error for it.
    fn reject(&mut self, (row, line): (u64, u64), e: ApiError) {
        self.rejected += 1;
        self.errors.push(RowError {
            row,
            line,
            code: e.code,
            field: e.field,
            message: e.message,
        });
    }

    fn progress(&self, bytes: u64) -> Progress {
        Progress {
            rows: self.rows(),
            bytes,
            booked: self.booked,
            duplicate: self.duplicate,
            rejected: self.rejected,
        }
    }
}

/// Rows of any length, so that a short or long row is a rejected row, not a stop.
fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input)
}

/// Books every row of a CSV file with a header row; `observe` sees the progress after each row.
pub async fn import_orders(
    store: &Store,
    input: impl Read,
    mut observe: impl FnMut(&Progress),
) -> Result<ImportSummary, ImportError> {
    let mut reader = csv_reader(input);
    let mut summary = ImportSummary::default();
    let columns = match reader.byte_headers() {
        Ok(headers) => row::parse_header(headers)?,
        Err(e) => return Err(ImportError::read(e, summary)),
    };
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(summary),
            Err(e) => return Err(ImportError::read(e, summary)),
        }
        let at = (
            summary.rows() + 1,
            record.position().map_or(0, |p| p.line()),
        );
        match row::parse_row(&columns, &record) {
            Ok(order) => {
                let outcome = booking::book_order(store, order, &Actor::import()).await;
                if let Err(e) = summary.count(at, outcome) {
                    return Err(ImportError::stopped(at, e, summary));
                }
            }
            Err(e) => summary.reject(at, e),
        }
        observe(&summary.progress(reader.position().byte()));
    }
}
