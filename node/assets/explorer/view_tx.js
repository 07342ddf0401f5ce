// `#/tx/HASH`: where a transaction is (committed, pending, dropped), what it
// does, and where it committed. A pending one is re-read when it commits or is
// dropped.

function statusBadge(status) {
  return el("span", { class: "badge " + status, id: "tx-status" }, status);
}

async function txPage(hash) {
  const info = await api("/txs/" + enc(hash));
  const rows = [
    ["Hash", mono(info.hash)],
    ["Status", statusBadge(info.status)],
  ];
  if (info.status === "committed") {
    rows.push(
      ["Block", [blockLink(info.height), " ", hashLink("block", info.block_hash, true)]],
      ["Position in block", String(info.index)]);
  }
  if (info.reason !== undefined) rows.push(["Why dropped", info.reason]);
  const signed = info.transaction;
  if (signed) {
    const [kind, to, amount] = txKindCells(signed.tx.kind);
    rows.push(
      ["From", accountLink(addressOf(signed.tx.signer))],
      ["Kind", kind],
      ["To", to],
      ["Amount", amount],
      ["Nonce", String(signed.tx.nonce)],
      ["Chain", signed.tx.chain_id],
      ["Signer key", mono(signed.tx.signer)],
      ["Signature", mono(signed.signature, true)]);
  }
  return el("div", null, el("h1", null, "Transaction"), facts(rows),
    info.status === "pending" ? el("p", { class: "muted" }, "Pending in this node's pool; this page updates when it commits.") : null);
}

async function viewTx(ctx, hash) {
  const page = await txPage(hash);
  const refresh = coalesce(() => txPage(hash).then(ctx.put, (e) => ctx.put(failure(e))), 100);
  live.on((event) => {
    if (event.type === "resync" || (event.hash && event.hash === String(hash).toLowerCase())) refresh();
  });
  return page;
}
