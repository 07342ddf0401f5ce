// The router: the part of the URL after `#/` names the view. Navigating forgets
// the last view's live listeners; a view that finishes loading after the user
// has moved on is not shown.

const VIEWS = {
  "": [viewHome, 0],
  blocks: [viewBlocks, 1],
  block: [viewBlock, 1],
  tx: [viewTx, 1],
  account: [viewAccount, 1],
  hash: [viewHash, 1],
  validators: [viewValidators, 0],
  consensus: [viewConsensus, 0],
};

let generation = 0;

async function route() {
  const main = document.getElementById("main");
  const mine = ++generation;
  live.forgetAll();
  const ctx = {
    current: () => mine === generation,
    put: (node) => {
      if (mine === generation) main.replaceChildren(node);
    },
  };
  const parts = location.hash.replace(/^#\/?/, "").split("/").map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (_) {
      return p;
    }
  });
  const [name, ...args] = parts;
  const view = VIEWS[name];
  document.querySelectorAll("header nav a").forEach((a) => {
    a.classList.toggle("here", a.getAttribute("href") === "#/" + name);
  });
  if (!view || args.length !== view[1]) {
    ctx.put(failure(new ApiError(404, "not_found", "the explorer has no page " + JSON.stringify(location.hash))));
    return;
  }
  main.setAttribute("aria-busy", "true");
  try {
    ctx.put(await view[0](ctx, ...args));
  } catch (e) {
    if (!(e instanceof ApiError)) console.error(e);
    ctx.put(failure(e instanceof ApiError ? e : new ApiError(0, "page", String(e))));
  } finally {
    if (ctx.current()) main.removeAttribute("aria-busy");
  }
}

// The search box: a height, a hash (a block's or a transaction's) or an address.
function search(text) {
  const query = text.trim().replace(/^0x/i, "");
  if (/^\d{1,20}$/.test(query)) return "#/block/" + query;
  if (/^[0-9a-fA-F]{64}$/.test(query)) return "#/hash/" + query.toLowerCase();
  if (/^[0-9a-fA-F]{40}$/.test(query)) return "#/account/" + query.toLowerCase();
  return null;
}

function start() {
  const form = document.getElementById("search");
  const input = document.getElementById("search-input");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const target = search(input.value);
    if (target) {
      location.hash = target;
      return;
    }
    generation++;
    live.forgetAll();
    document.getElementById("main").replaceChildren(failure(new ApiError(400, "bad_request",
      JSON.stringify(input.value) + " is not a block height, a hash (64 hex characters) or an address (40 hex characters)")));
  });
  window.addEventListener("hashchange", route);
  live.start();
  route();
}

start();
