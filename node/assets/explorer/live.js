// Live updates: one EventSource on /events for the whole page. The view on
// screen registers what it wants to hear; the router forgets it on navigation,
// so listeners never pile up. After a reconnection (the node restarted, or this
// client fell behind and was sent `lagged`), views hear `resync` and re-read.

const EVENT_NAMES = ["block", "tx_committed", "tx_dropped", "view_change", "new_view", "membership", "lagged"];

// A node full of event clients answers 503 and the browser does not retry by
// itself: try again after this long.
const LIVE_RETRY_MS = 5000;

const live = {
  source: null,
  listeners: new Set(),
  opened: false,
  retry: null,

  start() {
    if (this.source || typeof EventSource === "undefined") return;
    const source = new EventSource("/events");
    this.source = source;
    source.addEventListener("open", () => {
      this.setState("on", "live");
      if (this.opened) this.emit({ type: "resync" });
      this.opened = true;
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        this.source = null;
        this.setState("off", "offline");
        if (!this.retry) {
          this.retry = setTimeout(() => { this.retry = null; this.start(); }, LIVE_RETRY_MS);
        }
      } else {
        this.setState("off", "reconnecting");
      }
    });
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch (_) {
          return;
        }
        if (event && typeof event.type === "string") this.emit(event);
      });
    }
  },

  setState(kind, text) {
    const badge = document.getElementById("live");
    if (!badge) return;
    badge.textContent = text;
    badge.className = "live " + kind;
  },

  emit(event) {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        console.error(e);
      }
    }
  },

  // Calls `listener` with each event until the page navigates.
  on(listener) {
    this.listeners.add(listener);
  },

  forgetAll() {
    this.listeners.clear();
  },
};

// Runs `task` at most once per `wait_ms`, however many events ask for it: a busy
// chain commits many blocks a second and the page must not re-read for each.
function coalesce(task, waitMs) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      task();
    }, waitMs);
  };
}
