//! The explorer page (`GET /`) in a real browser against a real testnet: headless
//! Chromium, driven over the DevTools protocol, opens node 0's page; a transfer
//! sent with the `rbft` command line appears on it without a reload; the block
//! (with its commit certificate), the transaction, the account, the validators
//! and the consensus pages open; unknown objects say "not found"; text from the
//! address bar is shown as text, never run. A screenshot of each page is written
//! to `target/tmp/page-screenshots/` (the README shows copies from
//! `docs/screenshots/`).
//!
//! Needs `chromium` (Debian's package; `make deps` installs it) or a browser at
//! `CHROMIUM`, and the `rbft` binary beside `testnet` or at `RBFT_BIN`.

mod browser;
mod cdp;

use browser::Browser;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testnet::layout::{free_base_port, Layout, LayoutSpec};
use testnet::procs::{find_rbft_bin_or_beside, Network};

/// How long the testnet may take to commit, and the page to show something.
const WAIT: Duration = Duration::from_secs(60);
const SHOW: Duration = Duration::from_secs(20);

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

/// `rbft tx send --wait --json` from client `from` to client `to` through `node`;
/// returns the transaction hash and the height it committed at.
fn send(network: &Network, node: usize, from: usize, to: usize, amount: u64) -> (String, u64) {
    let layout = &network.layout;
    let output = Command::new(rbft_bin())
        .args(["tx", "send", "--wait", "--json", "--timeout", "30"])
        .arg("--key")
        .arg(&layout.clients[from].path)
        .args(["--to", &layout.clients[to].address.to_string()])
        .args(["--amount", &amount.to_string()])
        .args(["--node", &layout.nodes[node].api_url()])
        .output()
        .expect("rbft runs");
    assert!(
        output.status.success(),
        "rbft tx send: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(printed["status"], "committed", "{printed}");
    (
        printed["hash"].as_str().expect("hash").to_owned(),
        printed["height"].as_u64().expect("height"),
    )
}

/// A JavaScript string literal of `text`.
fn js(text: &str) -> String {
    json!(text).to_string()
}

/// Moves the page to `#/route` without reloading it.
fn open(browser: &mut Browser, route: &str) {
    browser
        .eval(&format!("location.hash = {}", js(&format!("#/{route}"))))
        .expect("setting the location");
}

struct Shots {
    dir: PathBuf,
}

impl Shots {
    fn new() -> Shots {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("page-screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        Shots { dir }
    }

    fn take(&self, browser: &mut Browser, name: &str) {
        let path = self.dir.join(format!("{name}.png"));
        browser.screenshot(&path).expect("a screenshot");
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        // A PNG of a rendered page, not an empty or blank one.
        assert!(size > 10_000, "{} is {size} bytes", path.display());
        eprintln!("page: wrote {}", path.display());
    }
}

#[test]
fn the_explorer_shows_a_transfer_live_and_opens_its_block_certificate_and_account() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LayoutSpec {
        base_port: free_base_port(4).expect("free ports"),
        clients: 4,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(tmp.path(), &spec).unwrap();
    let mut network = Network::start(layout, &rbft_bin()).unwrap();
    network
        .wait_for_first_block(WAIT)
        .expect("the testnet commits");
    let url = network.layout.nodes[0].api_url();
    let shots = Shots::new();
    let mut browser = Browser::launch(&tmp.path().join("chromium.log"), WIDTH, HEIGHT)
        .expect("headless chromium starts");

    // The front page: the latest blocks, with live updates on.
    browser.navigate(&format!("{url}/#/")).unwrap();
    browser.wait_for(
        "document.querySelectorAll('#blocks tbody tr').length > 0",
        "the latest blocks",
        SHOW,
    );
    browser.wait_for(
        "document.getElementById('live').textContent === 'live'",
        "that live updates are on",
        SHOW,
    );
    // A mark on this document: a reload would lose it.
    browser.eval("window.notReloaded = true").unwrap();

    let (hash, height) = send(&network, 1, 0, 1, 17);
    browser.wait_for(
        &format!("document.querySelector('#blocks tr[data-height=\"{height}\"]') !== null"),
        "the new block in the latest blocks",
        SHOW,
    );
    browser.wait_for(
        &format!(
            "document.querySelector('#feed [title={}]') !== null",
            js(&hash)
        ),
        "the transfer among the live events",
        SHOW,
    );
    assert_eq!(
        browser.eval("window.notReloaded === true").unwrap(),
        json!(true),
        "the page updated without reloading"
    );
    // Newest first.
    let shown: Vec<u64> = serde_json::from_value(
        browser
            .eval("[...document.querySelectorAll('#blocks tbody tr')].map(r => Number(r.dataset.height))")
            .unwrap(),
    )
    .unwrap();
    assert!(shown.windows(2).all(|w| w[0] > w[1]), "{shown:?}");
    shots.take(&mut browser, "home");

    // The block, its transactions and who signed it.
    open(&mut browser, &format!("block/{height}"));
    browser.wait_for(
        &format!(
            "document.querySelector('#block-txs [title={}]') !== null",
            js(&hash)
        ),
        "the transfer in its block",
        SHOW,
    );
    let signers: Vec<String> = serde_json::from_value(browser.wait_for(
        "(() => { const rows = [...document.querySelectorAll('#signers tbody tr')]; \
                 return rows.length ? rows.map(r => r.cells[0].textContent) : null; })()",
        "the commit certificate's signers",
        SHOW,
    ))
    .unwrap();
    let certificate = network.client(0).commit(height).expect("the certificate");
    let expected: Vec<String> = certificate
        .signatures
        .iter()
        .map(|s| s.replica.to_string())
        .collect();
    assert_eq!(signers, expected);
    assert!(signers.len() >= 3, "a quorum of 4 signed: {signers:?}");
    // The sender's address, which the page derives from the signer's key.
    let sender = network.layout.clients[0].address.to_string();
    let from = browser
        .eval(
            "document.querySelector('#block-txs tbody tr').cells[2].querySelector('[title]').title",
        )
        .unwrap();
    assert_eq!(from, json!(sender));
    shots.take(&mut browser, "block");

    // The transaction: committed, and where.
    open(&mut browser, &format!("tx/{hash}"));
    browser.wait_for(
        "document.getElementById('tx-status')?.textContent === 'committed'",
        "the transaction committed",
        SHOW,
    );
    let text = browser
        .eval("document.getElementById('main').innerText")
        .unwrap();
    assert!(
        text.as_str().unwrap().contains(&height.to_string()),
        "{text}"
    );
    shots.take(&mut browser, "tx");

    // The receiver's account: the balance the API reports.
    let receiver = network.layout.clients[1].address;
    let balance = network.client(0).account(&receiver).unwrap().balance;
    open(&mut browser, &format!("account/{receiver}"));
    browser.wait_for(
        &format!(
            "document.getElementById('balance')?.textContent === {}",
            js(&balance.to_string())
        ),
        "the account's balance",
        SHOW,
    );
    // Its history, from /accounts/{address}/txs, lists the transfer it received.
    browser.wait_for(
        &format!("document.querySelector('#history a[href=\"#/tx/{hash}\"]') !== null"),
        "the transfer in the account's history",
        SHOW,
    );
    shots.take(&mut browser, "account");

    // The validators, the view and the primary.
    let status = network.client(0).status().unwrap();
    open(&mut browser, "validators");
    browser.wait_for(
        "document.querySelectorAll('#validators tbody tr').length === 4",
        "the four validators",
        SHOW,
    );
    let primary = browser
        .eval("document.getElementById('primary').textContent")
        .unwrap();
    assert_eq!(primary, json!(format!("replica {}", status.primary)));
    shots.take(&mut browser, "validators");

    // The consensus state.
    open(&mut browser, "consensus");
    browser.wait_for(
        "document.getElementById('high-watermark') && document.getElementById('evidence')",
        "the consensus state and the evidence panel",
        SHOW,
    );
    let watermarks = browser
        .eval("[Number(document.getElementById('low-watermark').textContent), Number(document.getElementById('high-watermark').textContent)]")
        .unwrap();
    let (low, high) = (
        watermarks[0].as_u64().unwrap(),
        watermarks[1].as_u64().unwrap(),
    );
    assert!(low < high, "{watermarks}");
    shots.take(&mut browser, "consensus");

    // The search box: a height opens its block.
    browser
        .eval(&format!(
            "document.getElementById('search-input').value = {}; \
             document.getElementById('search').requestSubmit()",
            js(&height.to_string())
        ))
        .unwrap();
    browser.wait_for(
        &format!("location.hash === {}", js(&format!("#/block/{height}"))),
        "the searched block",
        SHOW,
    );

    // Unknown heights, hashes and addresses: the API's 404, and "not found".
    for route in [
        "block/999999999".to_owned(),
        format!("tx/{}", "0".repeat(64)),
        format!("hash/{}", "0".repeat(64)),
        format!("account/{}", "0".repeat(40)),
    ] {
        // Emptied first, so that the wait below sees this route's answer.
        browser
            .eval("document.getElementById('main').replaceChildren()")
            .unwrap();
        open(&mut browser, &route);
        browser.wait_for(
            "document.querySelector('#main .notfound h2')?.textContent === 'Not found'",
            &format!("\"not found\" for {route}"),
            SHOW,
        );
    }
    shots.take(&mut browser, "not-found");

    // Markup in the address bar comes back in the API's error message: shown as
    // text, never as elements.
    open(
        &mut browser,
        "block/<img src=x onerror=window.ran=1><b>bold",
    );
    browser.wait_for(
        "document.querySelector('#main .error') !== null",
        "the refusal of a bad block id",
        SHOW,
    );
    let escaped = browser
        .eval(
            "[document.querySelectorAll('#main img, #main b').length, \
             document.getElementById('main').textContent.includes('<b>bold'), \
             window.ran === undefined]",
        )
        .unwrap();
    assert_eq!(escaped, json!([0, true, true]));

    // On a phone's screen.
    browser.viewport(390, 844, true).unwrap();
    open(&mut browser, "");
    browser.wait_for(
        "document.querySelectorAll('#blocks tbody tr').length > 0",
        "the latest blocks on a phone",
        SHOW,
    );
    shots.take(&mut browser, "home-phone");

    drop(browser);
    let stopped = network.stop();
    assert_eq!(stopped.len(), 4);
}
