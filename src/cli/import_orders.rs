//! `walletcards import-orders FILE`: opens the file (or standard input), shows a progress bar
//! on a terminal, and reports each refused row and the counts that `import::import_orders`
//! returns. Exit code 0 when no row was refused, 2 when some were, 1 when the import stopped.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;
use crate::import::{ImportSummary, Progress, import_orders};
use crate::store::Store;

/// Exit code of an import that refused some rows and booked the others.
const SOME_ROWS_REJECTED: u8 = 2;

pub async fn run(settings: &Settings, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let (input, size) = open(file)?;
    let store = Store::connect(&settings.database_url(), 1).await?;
    store.migrate().await?;
    let bar = progress_bar(size);
    let result = import_orders(&store, input, |p| show(&bar, p)).await;
    bar.finish_and_clear();
    store.close().await;
    match result {
        Ok(summary) => {
            report(&summary, json)?;
            Ok(if summary.rejected > 0 {
                ExitCode::from(SOME_ROWS_REJECTED)
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) => {
            if let Some(done) = e.partial() {
                report(done, json)?;
            }
            Err(e.into())
        }
    }
}

/// The input and, for a file, its size; `-` is standard input.
fn open(file: &Path) -> anyhow::Result<(Box<dyn Read>, Option<u64>)> {
    if file.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin()), None));
    }
    let f = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), size))
}

/// Bytes read of a file, or a spinner for standard input; hidden unless stderr is a terminal.
fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match size {
        Some(len) => (
            ProgressBar::new(len),
            "{bar:30} {bytes}/{total_bytes} {msg}",
        ),
        None => (ProgressBar::new_spinner(), "{spinner} {bytes} {msg}"),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn show(bar: &ProgressBar, p: &Progress) {
    bar.set_position(p.bytes);
    bar.set_message(format!(
        "{} rows: booked {}, duplicate {}, rejected {}",
        p.rows, p.booked, p.duplicate, p.rejected
    ));
}

fn report(summary: &ImportSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(());
    }
    for e in &summary.errors {
        println!("{e}");
    }
    println!(
        "booked {}, duplicate {}, rejected {}",
        summary.booked, summary.duplicate, summary.rejected
    );
    Ok(())
}
