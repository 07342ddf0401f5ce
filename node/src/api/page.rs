//! The explorer at `GET /`: one page of plain HTML, CSS and JavaScript compiled
//! into the binary (no network at run time), reading only this API's routes and
//! `/events`. The files live in `node/assets/explorer/`; the script is several
//! files joined in one function scope, so each file holds one part of the page.
//!
//! Every answer carries a strict Content-Security-Policy: the page may load only
//! its own files and talk only to this origin, runs no inline script and cannot be
//! framed. The page writes what it shows with `textContent` and DOM calls, never
//! as HTML, so nothing a transaction or an error message holds can run.

use axum::http::header;
use axum::response::IntoResponse;

/// The content types of the page's files.
pub const HTML: &str = "text/html; charset=utf-8";
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
pub const CSS: &str = "text/css; charset=utf-8";

/// Only this origin, for everything; no inline script or style, no framing, no
/// `<base>`, no form posts elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const INDEX: &str = include_str!("../../assets/explorer/index.html");

const STYLE: &str = include_str!("../../assets/explorer/style.css");

/// The script's files, in order: helpers before the views that use them, the
/// router last (it starts the page).
const SCRIPT: &str = concat!(
    "(() => {\n\"use strict\";\n",
    include_str!("../../assets/explorer/dom.js"),
    include_str!("../../assets/explorer/sha256.js"),
    include_str!("../../assets/explorer/api.js"),
    include_str!("../../assets/explorer/live.js"),
    include_str!("../../assets/explorer/view_home.js"),
    include_str!("../../assets/explorer/view_block.js"),
    include_str!("../../assets/explorer/view_tx.js"),
    include_str!("../../assets/explorer/view_account.js"),
    include_str!("../../assets/explorer/view_validators.js"),
    include_str!("../../assets/explorer/view_consensus.js"),
    include_str!("../../assets/explorer/app.js"),
    "})();\n",
);

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // The files change only with the binary; a node restarted on a new
            // binary must not serve a page mixed from two versions.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// `GET /`.
pub async fn html() -> impl IntoResponse {
    asset(HTML, INDEX)
}

/// `GET /explorer.js`.
pub async fn script() -> impl IntoResponse {
    asset(JAVASCRIPT, SCRIPT)
}

/// `GET /explorer.css`.
pub async fn style() -> impl IntoResponse {
    asset(CSS, STYLE)
}
