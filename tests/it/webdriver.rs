//! The browser journeys' helpers over `fantoccini`: chromedriver drives Debian's headless
//! Chromium, fantoccini speaks WebDriver to it. Every page the journey visits is saved as a PNG
//! under `target/screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// A found element.
pub type Element = fantoccini::elements::Element;

/// Where chromedriver and Chromium are, or why the journeys cannot run here.
fn browser_binaries() -> Result<(PathBuf, PathBuf), String> {
    let find = |names: &[&str]| -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        names.iter().find_map(|n| {
            std::env::split_paths(&path)
                .map(|d| d.join(n))
                .find(|p| p.is_file())
        })
    };
    let driver = find(&["chromedriver"]).ok_or("chromedriver is not installed")?;
    let chromium = find(&["chromium", "chromium-browser", "google-chrome"])
        .ok_or("chromium is not installed")?;
    Ok((driver, chromium))
}

/// Starts chromedriver on a port the system chooses and returns it with that port.
async fn start_chromedriver(driver_bin: PathBuf) -> (tokio::process::Child, u16) {
    // Port 0: ChromeDriver binds a port the system chooses and prints it (no free-port race).
    let mut driver = tokio::process::Command::new(driver_bin)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let stdout = driver.stdout.take().expect("chromedriver stdout");
    let port = tokio::time::timeout(Duration::from_secs(60), async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(p) = line
                .split_once("started successfully on port ")
                .and_then(|(_, p)| p.trim_end_matches('.').trim().parse::<u16>().ok())
            {
                // Keep draining its output so it never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return Some(p);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("chromedriver said which port it listens on");
    (driver, port)
}

/// Headless Chromium with a profile of its own and the journeys' timeouts.
fn chromium_capabilities(chromium: &std::path::Path, profile: &std::path::Path) -> Value {
    json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--window-size=1280,1400",
                format!("--user-data-dir={}", profile.display()),
            ]
        },
        "timeouts": {"implicit": 0, "pageLoad": 30000, "script": 10000}
    })
}

/// Opens a session, retrying while chromedriver is still getting ready to accept one.
async fn new_session(port: u16, caps: Value) -> Client {
    let Value::Object(caps) = caps else {
        panic!("capabilities are a JSON object");
    };
    // chromedriver listens on plain HTTP on the loopback: no TLS connector is needed.
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(caps);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match builder.connect(&url).await {
            Ok(client) => return client,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    }
}

/// The screenshot folder, emptied of this prefix's screenshots of an earlier run (they would
/// mix with this one's).
fn screenshot_dir(prefix: &str) -> PathBuf {
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    for e in std::fs::read_dir(&shots).into_iter().flatten().flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with(&format!("{prefix}-"))
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
    shots
}

pub struct Browser {
    client: Client,
    driver: tokio::process::Child,
    profile: PathBuf,
    shots: PathBuf,
    prefix: String,
    taken: AtomicUsize,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. Returns None (saying why) when the
    /// browser is not installed, unless `ADPILOT_REQUIRE_BROWSER=1` (set by `.ci/run`, which
    /// installs it), where a missing browser fails the test.
    pub async fn start(prefix: &str) -> Option<Browser> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (driver_bin, chromium) = match browser_binaries() {
            Ok(b) => b,
            Err(why) => {
                crate::support::skip_for_missing_tool(&format!(
                    "browser journey {prefix}: {why} (apt-get install chromium chromium-driver)"
                ));
                return None;
            }
        };
        let (driver, port) = start_chromedriver(driver_bin).await;
        let profile =
            std::env::temp_dir().join(format!("adpilot-chromium-{}", uuid::Uuid::new_v4()));
        let client = new_session(port, chromium_capabilities(&chromium, &profile)).await;
        Some(Browser {
            client,
            driver,
            profile,
            shots: screenshot_dir(prefix),
            prefix: prefix.to_string(),
            taken: AtomicUsize::new(0),
        })
    }

    async fn try_find(&self, css: &str) -> Option<Element> {
        self.client.find(Locator::Css(css)).await.ok()
    }

    /// Waits up to 10 s for an element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            if Instant::now() > deadline {
                let url = self.url().await;
                let body = self.body_text().await;
                panic!("no element {css:?} on {url}; the page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.try_find(css).await.is_some()
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("WebDriver goto {url} failed: {e}"));
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| panic!("WebDriver url failed: {e}"))
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.click_element(&e).await;
    }

    pub async fn click_element(&self, e: &Element) {
        e.click()
            .await
            .unwrap_or_else(|err| panic!("WebDriver click failed: {err}"));
    }

    /// Clicks the first button or link whose visible text contains `text`.
    pub async fn click_text(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .script(
                    "const t = arguments[0];
                     const el = [...document.querySelectorAll('button, a, input[type=submit]')]
                       .find(e => (e.innerText || e.value || '').includes(t));
                     if (!el) return false;
                     el.scrollIntoView({block: 'center'});
                     el.click();
                     return true;",
                    vec![json!(text)],
                )
                .await;
            if found.as_bool() == Some(true) {
                return;
            }
            if Instant::now() > deadline {
                let url = self.url().await;
                let body = self.body_text().await;
                panic!("no button or link {text:?} on {url}; the page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Replaces an input's or textarea's content by typing `text`, as a user would.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear()
            .await
            .unwrap_or_else(|err| panic!("WebDriver clear {css} failed: {err}"));
        self.type_into(&e, text).await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        e.send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("WebDriver typing failed: {err}"));
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.script(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1];
             s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![json!(css), json!(value)],
        )
        .await;
    }

    /// The visible text of the first element matching `css`. An htmx swap may replace the
    /// element between finding and reading it (a stale reference): it is found again.
    pub async fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let e = self.find(css).await;
            match e.text().await {
                Ok(t) => return t,
                Err(err)
                    if err.to_string().contains("stale element") && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("WebDriver text of {css} failed: {err}"),
            }
        }
    }

    pub async fn body_text(&self) -> String {
        self.script(
            "return document.body ? document.body.innerText : ''",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub async fn script(&self, js: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(js, args)
            .await
            .unwrap_or_else(|e| panic!("WebDriver script failed: {e}"))
    }

    /// Runs an asynchronous script: it ends by calling its last argument with the result.
    pub async fn script_async(&self, js: &str, args: Vec<Value>) -> Value {
        self.client
            .execute_async(js, args)
            .await
            .unwrap_or_else(|e| panic!("WebDriver async script failed: {e}"))
    }

    /// Waits until the page's visible text contains `needle`, reloading every `reload` if
    /// given (for pages that show background work finishing).
    pub async fn wait_for_text(&self, needle: &str, timeout: Duration, reload: Option<Duration>) {
        let deadline = Instant::now() + timeout;
        let mut last_reload = Instant::now();
        loop {
            if self.body_text().await.contains(needle) {
                return;
            }
            if Instant::now() > deadline {
                let url = self.url().await;
                let body = self.body_text().await;
                self.shot("timeout").await;
                panic!("{needle:?} never appeared on {url}; the page says:\n{body}");
            }
            if let Some(every) = reload
                && last_reload.elapsed() >= every
            {
                self.client
                    .refresh()
                    .await
                    .unwrap_or_else(|e| panic!("WebDriver refresh failed: {e}"));
                last_reload = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Resizes the window (e.g. 390 px wide for a phone).
    pub async fn set_window(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("WebDriver window size failed: {e}"));
    }

    /// Resizes the window (390 for a phone, 1280 for a desktop).
    pub async fn set_width(&self, width: u32) {
        self.set_window(width, 1400).await;
    }

    /// Saves a PNG of the viewport as `target/screenshots/PREFIX-NN-NAME.png`.
    pub async fn shot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("WebDriver screenshot failed: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");
        let n = self.taken.fetch_add(1, Ordering::SeqCst) + 1;
        let path = self
            .shots
            .join(format!("{}-{n:02}-{name}.png", self.prefix));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Screenshots at desktop (1280 px) and phone (390 px) width; returns whether the page
    /// scrolled sideways at phone width (content wider than the screen).
    pub async fn shots_both(&self, name: &str) -> bool {
        self.set_width(1280).await;
        self.shot(&format!("{name}-1280")).await;
        self.set_width(390).await;
        let wide = self.page_overflows().await;
        self.shot(&format!("{name}-390")).await;
        self.set_width(1280).await;
        wide
    }

    /// Makes the frame matching `css` the context of later calls (`None`: the page again).
    pub async fn frame(&self, css: Option<&str>) {
        let switched = match css {
            Some(css) => self.find(css).await.enter_frame().await,
            None => self.client.enter_frame(None).await,
        };
        switched.unwrap_or_else(|e| panic!("WebDriver frame switch failed: {e}"));
    }

    /// Whether the page is wider than the window (a phone user would have to scroll the
    /// whole page sideways); wide tables scroll inside their own box instead.
    pub async fn page_overflows(&self) -> bool {
        self.script(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        )
        .await
        .as_bool()
        .unwrap_or(true)
    }

    /// Sets a cookie on the site the browser is on (to hand it a session signed in elsewhere).
    pub async fn add_cookie(&self, name: &str, value: &str) {
        let mut cookie = fantoccini::cookies::Cookie::new(name.to_string(), value.to_string());
        cookie.set_path("/");
        // Chrome refuses a cookie whose domain fantoccini leaves empty, and drops one with
        // fantoccini's default `SameSite=None` on plain http: name both, as a server would.
        let url = self
            .client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("WebDriver current url failed: {e}"));
        if let Some(host) = url.host_str() {
            cookie.set_domain(host.to_string());
        }
        cookie.set_same_site(axum_extra::extract::cookie::SameSite::Lax);
        self.client
            .add_cookie(cookie)
            .await
            .unwrap_or_else(|e| panic!("WebDriver add cookie failed: {e}"));
    }

    /// Forgets every cookie (a different person at the same browser).
    pub async fn clear_cookies(&self) {
        self.client
            .delete_all_cookies()
            .await
            .unwrap_or_else(|e| panic!("WebDriver delete cookies failed: {e}"));
    }

    pub async fn quit(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
