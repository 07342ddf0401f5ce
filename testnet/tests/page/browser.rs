//! Headless Chromium driven over the DevTools protocol: one page, navigated,
//! read with JavaScript, photographed. The browser runs in its own process group
//! and is killed with it when dropped.

use super::cdp::Cdp;
use base64::Engine;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use testnet::procs::ChildProcess;

/// How long the browser may take to open its DevTools port.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The tallest screenshot, in CSS pixels.
const MAX_SHOT_HEIGHT: f64 = 3000.0;

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

pub struct Browser {
    cdp: Cdp,
    session: String,
    // Dropped after the connection, before the profile it writes to.
    _process: Group,
    _profile: tempfile::TempDir,
}

/// The browser's process and every process it starts (renderers, the GPU and
/// network services): they share its process group, and are killed with it.
struct Group(ChildProcess);

impl Drop for Group {
    fn drop(&mut self) {
        // ESRCH: the group is gone already.
        let _ = killpg(Pid::from_raw(self.0.pid() as i32), Signal::SIGKILL);
        self.0.kill();
    }
}

/// Debian's `chromium`, or the browser `CHROMIUM` names.
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromium"))
}

impl Browser {
    /// Starts the browser (its output goes to `log`) with one blank page of
    /// `width` × `height` CSS pixels.
    pub fn launch(log: &Path, width: u32, height: u32) -> Result<Browser, String> {
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut command = Command::new(chromium());
        command
            .arg("--headless=new")
            // Root has no sandbox (and a container often has no namespaces for one).
            .arg("--no-sandbox")
            .arg("--disable-gpu")
            .arg("--disable-dev-shm-usage")
            .arg("--no-first-run")
            .arg("--no-default-browser-check")
            .arg("--disable-extensions")
            .arg("--disable-background-networking")
            .arg("--disable-component-update")
            .arg("--disable-sync")
            .arg("--hide-scrollbars")
            .arg("--remote-debugging-address=127.0.0.1")
            // Port 0: the browser picks a free one and writes it to its profile.
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--window-size={width},{height}"))
            .arg("about:blank");
        let mut process = Group(ChildProcess::spawn("chromium", command, log).map_err(|e| {
            format!("{e} (install it: make deps, or apt-get install chromium; or set CHROMIUM)")
        })?);
        let (port, path) = devtools_port(&mut process.0, profile.path(), log)?;
        let mut cdp = Cdp::connect(port, &path)?;
        let target = cdp.call(None, "Target.createTarget", json!({ "url": "about:blank" }))?;
        let attached = cdp.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("Target.attachToTarget gave no session")?
            .to_owned();
        let mut browser = Browser {
            cdp,
            session,
            _process: process,
            _profile: profile,
        };
        browser.call("Page.enable", json!({}))?;
        browser.viewport(width, height, false)?;
        Ok(browser)
    }

    fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.cdp.call(Some(&self.session), method, params)
    }

    /// Sizes the page; `mobile` also makes it render as a phone does.
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) -> Result<(), String> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": if mobile { 2 } else { 1 },
                "mobile": mobile,
            }),
        )
        .map(drop)
    }

    /// Loads `url` (a new document).
    pub fn navigate(&mut self, url: &str) -> Result<(), String> {
        let answer = self.call("Page.navigate", json!({ "url": url }))?;
        match answer.get("errorText") {
            Some(error) => Err(format!("navigating to {url}: {error}")),
            None => Ok(()),
        }
    }

    /// The value of `expression` in the page (awaited if a promise).
    pub fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let answer = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(exception) = answer.get("exceptionDetails") {
            return Err(format!("{expression}: {exception}"));
        }
        Ok(answer["result"]["value"].clone())
    }

    /// Waits until `expression` is truthy in the page; returns its value. Fails
    /// after `timeout` with `what` and the page's text.
    pub fn wait_for(&mut self, expression: &str, what: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.eval(expression).unwrap_or(Value::Null);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            if Instant::now() >= deadline {
                let text = self
                    .eval("document.getElementById('main')?.innerText ?? document.body?.innerText")
                    .unwrap_or_default();
                panic!("the page did not show {what} within {timeout:?}; it shows:\n{text}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// The whole page as it looks now (up to [`MAX_SHOT_HEIGHT`]), as PNG,
    /// written to `path`.
    pub fn screenshot(&mut self, path: &Path) -> Result<(), String> {
        let metrics = self.call("Page.getLayoutMetrics", json!({}))?;
        let width = metrics["cssLayoutViewport"]["clientWidth"]
            .as_f64()
            .ok_or("no viewport width")?;
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .ok_or("no content height")?
            .min(MAX_SHOT_HEIGHT);
        let answer = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
            }),
        )?;
        let data = answer["data"].as_str().ok_or("no screenshot data")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| format!("the screenshot is not base64: {e}"))?;
        std::fs::write(path, png).map_err(|e| format!("writing {}: {e}", path.display()))
    }
}

/// Waits for the port the browser writes to `DevToolsActivePort` in its profile
/// (first line the port, second the browser's WebSocket path).
fn devtools_port(
    child: &mut ChildProcess,
    profile: &Path,
    log: &Path,
) -> Result<(u16, String), String> {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                if let Ok(port) = port.trim().parse() {
                    return Ok((port, path.trim().to_owned()));
                }
            }
        }
        if let Some(status) = child.exit_status() {
            return Err(format!(
                "chromium exited ({status}) before opening its DevTools port:\n{}",
                testnet::procs::log_tail(log, 20)
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "chromium opened no DevTools port within {START_TIMEOUT:?}:\n{}",
                testnet::procs::log_tail(log, 20)
            ));
        }
        std::thread::sleep(POLL);
    }
}
