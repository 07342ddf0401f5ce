// Reading the node's API. Every answer is JSON; every refusal is
// {"error": {"code", "message"}} and becomes an ApiError with its status.

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// How long one request may take before the page gives up on it.
const API_TIMEOUT_MS = 10000;

async function api(path) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), API_TIMEOUT_MS);
  let response;
  let body = null;
  try {
    response = await fetch(path, {
      headers: { accept: "application/json" },
      cache: "no-store",
      signal: abort.signal,
    });
    body = await response.json().catch(() => null);
  } catch (e) {
    throw new ApiError(0, "unreachable", "the node did not answer " + path + ": " + e.message);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const detail = body && body.error ? body.error : {};
    throw new ApiError(response.status, detail.code || "http_" + response.status,
      detail.message || response.status + " " + response.statusText);
  }
  if (body === null) throw new ApiError(response.status, "not_json", path + " did not answer JSON");
  return body;
}

// A route this node may not serve (a newer one): null when it answers 404.
async function apiIfServed(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

function enc(value) {
  return encodeURIComponent(String(value));
}
