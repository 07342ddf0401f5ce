// `#/block/ID` (a height or a hash): the block, its transactions and its commit
// certificate: who signed it.

// What a transaction does, as cells: kind, to, amount.
function txKindCells(kind) {
  if (kind && kind.transfer) {
    return ["transfer", accountLink(kind.transfer.to, true), String(kind.transfer.amount)];
  }
  if (kind && kind.add_validator) {
    return ["add validator", mono(kind.add_validator.validator.public_key, true), "–"];
  }
  if (kind && kind.remove_validator) {
    return ["remove validator", mono(kind.remove_validator.public_key, true), "–"];
  }
  return ["unknown", "–", "–"];
}

function txRows(block) {
  return block.transactions.map((signed, i) => [
    String(i),
    hashLink("tx", block.tx_hashes[i], true),
    accountLink(addressOf(signed.tx.signer), true),
    ...txKindCells(signed.tx.kind),
    String(signed.tx.nonce),
  ]);
}

function certificateView(commit, validators) {
  const signers = commit.signatures.map((s) => [
    String(s.replica),
    accountLink(addressOf(s.public_key), true),
    mono(s.public_key, true),
    mono(s.signature, true),
  ]);
  return el("div", { id: "certificate" },
    el("p", null,
      commit.signatures.length + " COMMITs signed in view " + commit.view +
      " (the quorum of the validator set in force now is " + validators.quorum + ")."),
    table(["Replica", "Address", "Public key", "Signature"], signers, { id: "signers" }),
    el("p", { class: "muted" },
      "Each signature covers a COMMIT naming this block's hash; ",
      el("code", null, "rbft block verify"), " checks them against the validator set."));
}

async function viewBlock(ctx, id) {
  const block = await api("/blocks/" + enc(id));
  const validators = await api("/validators");
  let certificate;
  if (block.height === 0) {
    certificate = el("p", { id: "certificate" },
      "The genesis block is fixed by the genesis document, not committed by consensus: it has no certificate.");
  } else {
    try {
      certificate = certificateView(await api("/blocks/" + block.height + "/commit"), validators);
    } catch (e) {
      certificate = failure(e);
    }
  }
  const byKey = replicaByKey(validators);
  return el("div", null,
    el("h1", null, "Block " + block.height),
    el("p", null,
      block.height > 0 ? link(["block", block.height - 1], "← Parent") : null,
      block.height > 0 ? " · " : null,
      link(["block", block.height + 1], "Next →")),
    facts([
      ["Hash", mono(block.hash)],
      ["Height", String(block.height)],
      ["Parent", block.height > 0 ? hashLink("block", block.parent) : mono(block.parent)],
      ["Time (UTC)", timeText(block.timestamp_ms)],
      ["Proposer", [proposerCell(block.proposer, byKey), " ", mono(block.proposer, true)]],
      ["Transactions", String(block.tx_count)],
      ["State root", mono(block.state_root)],
      ["Transactions root", mono(block.tx_root)],
      ["Batch digest", mono(block.batch_digest)],
    ]),
    section("Transactions",
      block.transactions.length === 0
        ? el("p", { class: "muted" }, "None.")
        : table(["#", "Hash", "From", "Kind", "To", "Amount", "Nonce"], txRows(block), { id: "block-txs" })),
    section("Commit certificate", certificate));
}

// `#/hash/H`: a hash from the search box: a block's, else a transaction's.
async function viewHash(ctx, hash) {
  try {
    return await viewBlock(ctx, hash);
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  return viewTx(ctx, hash);
}
