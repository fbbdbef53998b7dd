//! Reading a signed pass in the tests: its files, and `walletcards verify`'s verdict.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;

use super::TestApp;

/// The files of a `.pkpass` (a zip), by name.
pub fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("entry");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read");
            (f.name().to_owned(), data)
        })
        .collect()
}

/// What `walletcards verify` says of the pass at `pass` (the app's development WWDR): whether
/// it passed, and its report.
pub fn run_verify(app: &TestApp, pass: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_walletcards"))
        .arg("verify")
        .arg(pass)
        .arg("--wwdr")
        .arg(app.certs_dir.join("apple/wwdr.pem"))
        .env("WALLETCARDS_CERTS_DIR", &app.certs_dir)
        .output()
        .expect("verify runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Asserts that `walletcards verify` accepts the pass at `pass`.
pub fn verify(app: &TestApp, pass: &Path) {
    let (ok, report) = run_verify(app, pass);
    assert!(ok, "{report}");
}
