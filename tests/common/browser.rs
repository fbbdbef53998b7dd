//! Headless Chromium driven through chromedriver (WebDriver, with fantoccini): each test starts
//! its own chromedriver on a free port, and saves a screenshot of every page it checks under
//! `target/tmp/screenshots/` (the test artifacts). Debian's `chromium` and `chromium-driver`
//! packages provide the two programs (`.ci/run` installs them); `CHROMIUM` and
//! `CHROMEDRIVER` override their paths.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub struct Browser {
    pub client: Client,
    /// Where downloads land.
    pub downloads: tempfile::TempDir,
    /// Chromium's profile and temporary files, removed with the browser (it cannot clean
    /// up after a kill).
    _profile: tempfile::TempDir,
    driver: Child,
}

impl Drop for Browser {
    /// Ends chromedriver and the Chromium it started: they run in a process group of their
    /// own, so one signal reaches them all (killing chromedriver alone leaves Chromium
    /// running, a few hundred processes per test run).
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where screenshots are kept after the tests.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}

impl Browser {
    /// A fresh headless Chromium with a phone-sized (`mobile`) or desk-sized window.
    pub async fn start(mobile: bool) -> Browser {
        Browser::start_in(mobile, "en-US").await
    }

    /// A fresh headless Chromium whose preferred language (`Accept-Language`) is `lang`.
    pub async fn start_in(mobile: bool, lang: &str) -> Browser {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port();
        let profile = tempfile::tempdir().expect("profile dir");
        let driver = Command::new(&chromedriver)
            .env("TMPDIR", profile.path())
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {chromedriver}: {e}\n\
                     Install Debian's chromium and chromium-driver (apt-get install chromium \
                     chromium-driver), as .ci/run does, or set CHROMEDRIVER and CHROMIUM."
                )
            });
        let downloads = tempfile::tempdir().expect("downloads dir");
        let size = if mobile { "390,844" } else { "1280,900" };
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", format!("--window-size={size}"),
                         format!("--lang={lang}"),
                         format!("--user-data-dir={}", profile.path().join("profile").display())],
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                    "safebrowsing.enabled": false,
                    "intl.accept_languages": lang
                }
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        downloads,
                        _profile: profile,
                        driver,
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver at {url} did not start a session: {last:?}");
    }

    /// Saves what the browser shows as `<name>.png` among the artifacts.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Waits for the element `css` and returns it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    /// Types `text` into the element `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
    }

    /// Opens `url` (a staff page), lands on the sign-in page and signs in with `key` (its
    /// second form: desk terminals, and admin keys on a fresh install).
    pub async fn sign_in_to(&self, url: &str, key: &str) {
        self.client.goto(url).await.expect("open the page");
        self.type_into("#key", key).await;
        self.click("#signin-key").await;
    }

    /// Waits until the element `css` shows text containing `text`.
    pub async fn wait_for_text(&self, css: &str, text: &str) {
        for _ in 0..200 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if el.text().await.is_ok_and(|t| t.contains(text)) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let shown = match self.client.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => "(absent)".into(),
        };
        panic!("`{css}` never showed `{text}`; it shows `{shown}`");
    }
}
