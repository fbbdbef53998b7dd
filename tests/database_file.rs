//! The SQLite database holds the whole service's data (key hashes, sessions, customers): its
//! file, and the `-wal` and `-shm` files beside it, are readable by the service's user only.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::{Engine, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn the_sqlite_database_and_its_wal_files_are_created_owner_only() {
    let app = spawn_app(Engine::Sqlite).await;
    // A write, so the write-ahead log is in use.
    app.create_account("Acme GmbH").await;
    assert_eq!(app.get("/programs").await.status(), StatusCode::OK);
    let file = app
        .database_url
        .strip_prefix("sqlite://")
        .expect("a SQLite URL")
        .to_owned();
    for path in [file.clone(), format!("{file}-wal"), format!("{file}-shm")] {
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{path} is {:o}", mode & 0o777);
    }
}
