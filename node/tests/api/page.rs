//! What the explorer page needs of the API: blocks newest first, the pool's
//! summary, and the page's own files, served with their content types and a
//! strict Content-Security-Policy.

use super::*;
use node::api::page::CONTENT_SECURITY_POLICY;

fn heights(list: &BlockList) -> Vec<u64> {
    list.blocks.iter().map(|b| b.height).collect()
}

/// `order=desc` pages from the tip down; `next` is the height to ask for next
/// and is absent once genesis is on the page. Pages are capped at
/// `max_blocks_per_page` (3 here) as in ascending order.
#[tokio::test]
async fn blocks_newest_first_page_down_to_genesis() {
    let node = node();
    let doc = node::api::openapi::document();
    for nonce in 0..4 {
        node.commit(vec![node.pay(1, nonce)]);
    }
    let a = node.get("/blocks?order=desc").await;
    check_documented(doc, "get", "/blocks", &a);
    let first: BlockList = a.ok(200);
    assert_eq!((heights(&first), first.next), (vec![4, 3, 2], Some(1)));
    let tip: BlockInfo = node.get("/blocks/latest").await.ok(200);
    assert_eq!(first.blocks[0].hash, tip.hash);
    let second: BlockList = node.get("/blocks?order=desc&from=1").await.ok(200);
    assert_eq!((heights(&second), second.next), (vec![1, 0], None));
    // A `from` above the tip starts at the tip; a limit below the cap is kept.
    let above: BlockList = node.get("/blocks?order=desc&from=99&limit=2").await.ok(200);
    assert_eq!((heights(&above), above.next), (vec![4, 3], Some(2)));
    // Ascending is still the default, and can be asked for by name.
    let up: BlockList = node.get("/blocks?order=asc&from=2").await.ok(200);
    assert_eq!((heights(&up), up.next), (vec![2, 3, 4], None));
    let default: BlockList = node.get("/blocks?from=2").await.ok(200);
    assert_eq!(default, up);
}

/// A word other than asc or desc is bad input, as is a zero limit in either order.
#[tokio::test]
async fn an_unknown_order_or_a_zero_limit_is_a_bad_request() {
    let node = node();
    for path in [
        "/blocks?order=newest",
        "/blocks?order=DESC",
        "/blocks?order=",
        "/blocks?order=desc&limit=0",
        "/blocks?order=desc&from=-1",
    ] {
        let a = node.get(path).await;
        check_documented(node::api::openapi::document(), "get", "/blocks", &a);
        a.error(400, "bad_request");
    }
}

/// `GET /pool` counts what is pooled and how long the oldest has waited; a
/// committed block takes its transactions out of the count.
#[tokio::test]
async fn the_pool_summary_counts_pooled_transactions() {
    let node = node();
    let doc = node::api::openapi::document();
    let a = node.get("/pool").await;
    check_documented(doc, "get", "/pool", &a);
    let empty: PoolInfo = a.ok(200);
    assert_eq!((empty.txs, empty.bytes, empty.senders), (0, 0, 0));
    assert_eq!(empty.oldest_age_ms, None);
    assert_eq!(
        empty.max_txs,
        node.shared.config.mempool.to_config().max_txs
    );

    let pooled: Vec<SignedTransaction> = (0..3).map(|n| node.pay(1, n)).collect();
    node.post_json(&pooled).await.ok::<SubmittedMany>(200);
    let a = node.get("/pool").await;
    check_documented(doc, "get", "/pool", &a);
    let full: PoolInfo = a.ok(200);
    let bytes: usize = pooled.iter().map(|t| t.to_canonical_bytes().len()).sum();
    assert_eq!((full.txs, full.bytes, full.senders), (3, bytes, 1));
    assert_eq!(full.proposed, 0);
    // Admitted moments ago by the wall clock the pool stamps arrivals with.
    let age = full.oldest_age_ms.expect("a pooled transaction has an age");
    assert!(age < 60_000, "{age}");

    node.commit(pooled[..2].to_vec());
    let after: PoolInfo = node.get("/pool").await.ok(200);
    assert_eq!((after.txs, after.senders), (1, 1));
    assert_eq!(after.bytes, pooled[2].to_canonical_bytes().len());
}

/// The page and its files: each with its content type, the policy that lets it
/// load nothing from elsewhere, and `nosniff`.
#[tokio::test]
async fn the_page_is_served_with_its_content_types_and_a_strict_policy() {
    let node = node();
    for (path, content_type, needle) in [
        (
            "/",
            "text/html; charset=utf-8",
            "<script src=\"/explorer.js\"",
        ),
        (
            "/explorer.js",
            "text/javascript; charset=utf-8",
            "new EventSource(\"/events\")",
        ),
        ("/explorer.css", "text/css; charset=utf-8", "@media"),
    ] {
        let a = node.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.headers[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(
            a.headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(a.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let text = String::from_utf8(a.body).unwrap();
        assert!(text.contains(needle), "{path} lacks {needle:?}");
    }
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
}

/// Nothing at run time comes from the network: the page names no other origin,
/// runs no inline script (the policy would block it), and its script never
/// writes HTML, so what the chain holds is only ever text.
#[tokio::test]
async fn the_page_loads_nothing_from_elsewhere_and_writes_no_html() {
    let node = node();
    let html = String::from_utf8(node.get("/").await.body).unwrap();
    let script = String::from_utf8(node.get("/explorer.js").await.body).unwrap();
    let css = String::from_utf8(node.get("/explorer.css").await.body).unwrap();
    for (name, text) in [("page", &html), ("script", &script), ("style", &css)] {
        for outside in ["http://", "https://", "//cdn", "@import", "url("] {
            assert!(!text.contains(outside), "the {name} names {outside:?}");
        }
    }
    for writer in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ] {
        assert!(!script.contains(writer), "the script uses {writer}");
    }
    // Every <script> of the page is a file of this origin, none inline.
    for tag in html.split("<script").skip(1) {
        let head = &tag[..tag.find('>').unwrap()];
        assert!(head.contains("src=\"/explorer.js\""), "<script{head}>");
        assert!(tag[tag.find('>').unwrap() + 1..].starts_with("</script>"));
    }
    // No inline event handler or style attribute (both blocked by the policy).
    for attribute in [" onclick=", " onload=", " style="] {
        assert!(!html.contains(attribute), "the page has {attribute:?}");
    }
}
