//! The card designer: uploads checked and resized on the server, designs saved in the database
//! and used by every card of the program (and every instance) at once, the preview showing
//! what the signed pass shows, and the page in a browser.

mod api;
pub mod browser;
mod google;
mod preview;

use std::io::Cursor;

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::TestApp;

/// A PNG of `w`×`h` pixels in one colour.
pub fn png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let [r, g, b] = rgb;
    let image = image::RgbaImage::from_pixel(w, h, image::Rgba([r, g, b, 255]));
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// `POST /images?slot=` with `bytes`: the status and the JSON answer.
pub async fn upload(app: &TestApp, slot: &str, bytes: Vec<u8>, kind: &str) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url(&format!("/images?slot={slot}")))
        .bearer_auth(&app.admin_key)
        .header("content-type", kind)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// `PUT /programs/{id}/design`.
pub async fn put_design(app: &TestApp, program: &str, body: &Value) -> (StatusCode, Value) {
    let r = app
        .client
        .put(app.url(&format!("/programs/{program}/design")))
        .bearer_auth(&app.admin_key)
        .json(body)
        .send()
        .await
        .expect("put");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// GETs `path` and returns its bytes, asserting 200.
pub async fn bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let r = app.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.bytes().await.expect("body").to_vec()
}

pub use crate::common::pass::unzip;

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
