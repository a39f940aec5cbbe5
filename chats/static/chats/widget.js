/*
 * desk: the support-chat widget, and DeskLive, the small browser library it shares with the
 * dashboard. One file, no build step, no framework.
 *
 *   <script src="/static/chats/widget.js" defer></script>                   on desk's own pages
 *   <script src="/static/chats/widget.js" data-desk-widget="off"></script>  DeskLive only
 *   <script src="https://desk.example/static/chats/widget.js" defer         embedded on another
 *           data-desk-url="https://desk.example"                            site, optionally for
 *           data-desk-identity="JWT"></script>                              a signed-in visitor
 *
 * On desk's own pages the widget is the signed-in user's, with the session cookie. With
 * data-desk-url it is embedded on another site (docs/embed.md): it never uses desk's cookies, but
 * trades the host's identity token, a guest's secret (kept in the host page's localStorage) or a
 * guest link (data-desk-guest-link) for a short-lived desk token, and sends that as
 * `Authorization: Bearer` and as a websocket subprotocol. data-desk-mode="page" shows the chat
 * full page. window.DeskWidget.identify(token) after a sign-in, .reset() after a sign-out.
 *
 * DeskLive:
 *   csrfToken() -> string                          from the csrftoken cookie
 *   api(method, path, body?, remote?) -> Promise<json>
 *       rejects with {status, body}; status 0: no answer. remote {url, token}: desk at another
 *       origin, with a desk token (Authorization: Bearer) and no cookies
 *   socket({path, base, protocols, onEvent, onState, onOpen, onRefused}) -> {send(frame), close()}
 *       send -> bool; base: desk's origin (default this page's); protocols() -> subprotocols, asked
 *       at each connect; states "connected" | "reconnecting" | "offline"; backoff with full
 *       jitter, 0.5 s .. 30 s; no reconnect after 4401/4403/4404 (onRefused(code)); onOpen on
 *       every (re)connect
 *   composer(textarea, button, onSubmit(text))     Enter sends, Shift+Enter is a new line
 *   text(element, string)                          textContent, never innerHTML
 *   time(iso) "14:05"; relative(iso) "2 minutes ago"; day(iso) "Monday, January 29"
 *   keepRelativeTimes(root) -> stop()              re-renders [data-relative-time] every 30 s
 *   timing {pollInterval, typingExpiry, typingRepeat, typingIdle}   milliseconds, shared by all
 *
 * The REST API and the websocket events are documented in README.md, docs/events.md and
 * docs/embed.md.
 */
(() => {
  "use strict";

  const script = document.currentScript;

  // --- DeskLive: the shared library ---------------------------------------------------------------

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    // A site with CSRF_COOKIE_HTTPONLY still renders the token into its forms.
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function api(method, path, body, remote) {
    const headers = { Accept: "application/json" };
    if (remote) {
      if (remote.token) headers.Authorization = "Bearer " + remote.token;
    } else if (method !== "GET") {
      headers["X-CSRFToken"] = csrfToken();
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(remote ? remote.url + path : path, {
        method,
        headers,
        // Embedded, desk's cookies are not the widget's to use (and browsers block them anyway):
        // the desk token is its only credential.
        credentials: remote ? "omit" : "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      // No answer (offline, connection reset): the caller cannot know whether it was done.
      throw { status: 0, body: null, error };
    }
    const raw = await response.text();
    let json = null;
    try {
      json = raw ? JSON.parse(raw) : null;
    } catch (e) {
      // Not JSON (a proxy's error page): the status says enough.
    }
    if (!response.ok) throw { status: response.status, body: json };
    return json;
  }

  const REFUSED = [4401, 4403, 4404];

  function socket({ path, base, protocols, onEvent, onState, onOpen, onRefused }) {
    const url = (base || location.origin).replace(/^http/, "ws") + path;
    let ws = null;
    let timer = null;
    let attempts = 0;
    let closed = false;
    const setState = (state) => onState && onState(state);

    function connect() {
      timer = null;
      if (closed) return;
      try {
        // A credential goes in a subprotocol, never in the URL (URLs end up in logs).
        ws = protocols ? new WebSocket(url, protocols()) : new WebSocket(url);
      } catch (e) {
        return retry();
      }
      ws.onopen = () => {
        attempts = 0;
        setState("connected");
        if (onOpen) onOpen();
      };
      ws.onmessage = (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch (e) {
          return;
        }
        if (onEvent) onEvent(event);
      };
      ws.onclose = (close) => {
        ws = null;
        if (closed) return;
        if (!REFUSED.includes(close.code)) return retry();
        // Logged out, not allowed, or no such chat: trying again cannot help.
        closed = true;
        setState("offline");
        if (onRefused) onRefused(close.code);
      };
    }

    function retry() {
      attempts += 1;
      const ceiling = Math.min(30000, 500 * 2 ** attempts);
      timer = setTimeout(connect, Math.max(500, Math.random() * ceiling));
      setState(navigator.onLine === false || attempts > 3 ? "offline" : "reconnecting");
    }

    // Back on the network: try now rather than at the end of a long backoff.
    function online() {
      if (!timer || closed) return;
      clearTimeout(timer);
      connect();
    }
    // Off the network: a socket can look open for minutes before it notices; drop it now.
    function offline() {
      if (!ws || closed) return;
      ws.onclose = null;
      ws.close();
      ws = null;
      retry();
    }
    addEventListener("online", online);
    addEventListener("offline", offline);
    setState("reconnecting");
    connect();

    return {
      send(frame) {
        if (!ws || ws.readyState !== WebSocket.OPEN) return false;
        ws.send(JSON.stringify(frame));
        return true;
      },
      close() {
        closed = true;
        clearTimeout(timer);
        removeEventListener("online", online);
        removeEventListener("offline", offline);
        if (ws) ws.close(1000);
      },
    };
  }

  function composer(textarea, button, onSubmit) {
    const grow = () => {
      textarea.style.height = "auto";
      textarea.style.height = textarea.scrollHeight + "px";
      button.disabled = !textarea.value.trim();
    };
    const submit = () => {
      const value = textarea.value.trim();
      if (!value) return;
      textarea.value = "";
      grow();
      onSubmit(value);
    };
    textarea.addEventListener("input", grow);
    textarea.addEventListener("keydown", (event) => {
      // isComposing: the Enter that confirms an IME composition (Japanese, Chinese) is no send.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    button.addEventListener("click", submit);
    grow();
    return { grow };
  }

  function text(element, value) {
    element.textContent = value == null ? "" : String(value);
    return element;
  }

  const pad = (number) => String(number).padStart(2, "0");
  const time = (iso) => {
    const date = new Date(iso);
    return pad(date.getHours()) + ":" + pad(date.getMinutes());
  };
  const day = (iso) =>
    new Date(iso).toLocaleDateString("en-US", { weekday: "long", month: "long", day: "numeric" });

  const UNITS = [
    ["year", 31536000],
    ["month", 2592000],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

  function relative(iso) {
    const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
    const unit = UNITS.find(([, size]) => Math.abs(seconds) >= size);
    return unit ? relativeFormat.format(Math.round(seconds / unit[1]), unit[0]) : "just now";
  }

  function keepRelativeTimes(root) {
    const render = () => {
      for (const element of root.querySelectorAll("[data-relative-time]")) {
        text(element, relative(element.getAttribute("data-relative-time")));
      }
    };
    render();
    const interval = setInterval(render, 30000);
    return () => clearInterval(interval);
  }

  // One value for each fact, used by the widget and the dashboard alike.
  const timing = Object.freeze({
    // While the socket is down, REST polling keeps a chat live this often.
    pollInterval: 5000,
    // docs/events.md: a `true` not renewed expires on the receiving side after about ten seconds.
    typingExpiry: 10000,
    // While typing goes on, `true` is sent again this often: losing one does not let it expire.
    typingRepeat: 3000,
    // No keystroke for this long and `false` is sent.
    typingIdle: 4000,
  });

  window.DeskLive = {
    timing,
    csrfToken,
    api,
    socket,
    composer,
    text,
    time,
    relative,
    day,
    keepRelativeTimes,
  };

  if (script && script.getAttribute("data-desk-widget") === "off") return;

  // --- Embedded on another site: the desk token ---------------------------------------------------

  // The credentials of a widget embedded on another site (docs/embed.md): the host's identity
  // token, else a guest's secret kept in the host page's localStorage, else a guest link; traded
  // for a short-lived desk token (POST /api/embed/token) that is renewed before it runs out. No
  // cookies: browsers block them for a third party, and desk's own would be the wrong person's.
  function embedding(url, { identity, guestLink, onSession }) {
    const memory = new Map(); // what storage would hold, where storage is disabled
    let token = null;
    let renewTimer = null;
    let renewing = null;

    // One key per desk, so that two desks embedded on one site keep their guests apart.
    const key = (name) => `desk-widget:${url}:${name}`;
    function stored(name) {
      try {
        return localStorage.getItem(key(name));
      } catch (e) {
        return memory.has(name) ? memory.get(name) : null;
      }
    }
    function store(name, value) {
      if (value == null) memory.delete(name);
      else memory.set(name, value);
      try {
        if (value == null) localStorage.removeItem(key(name));
        else localStorage.setItem(key(name), value);
      } catch (e) {
        // Storage disabled or full: kept for as long as the page.
      }
    }

    const anonymous = { url };
    const exchange = (body) => api("POST", "/api/embed/token", body, anonymous).then(hold);

    // A desk token and whose it is; renewed at two thirds of its life.
    function hold(session) {
      token = session.token;
      clearTimeout(renewTimer);
      renewTimer = setTimeout(() => renew().catch(() => {}), (session.expires_in * 2000) / 3);
      if (session.guest_secret) store("guest", session.guest_secret);
      onSession(session);
      return session;
    }

    function drop() {
      token = null;
      clearTimeout(renewTimer);
    }

    // A desk token for the credentials this browser has, or null: a visitor who has not written
    // yet has none. An identity token sent with a guest's secret merges the guest's chat into the
    // person's, and the secret is spent.
    async function sign() {
      if (guestLink) return exchange({ guest_link: guestLink });
      const secret = stored("guest");
      if (identity) {
        try {
          const session = await exchange(secret ? { identity, guest_secret: secret } : { identity });
          if (secret) store("guest", null);
          return session;
        } catch (error) {
          if (error.status !== 401) throw error;
          const { reason, detail } = error.body || {};
          console.error(
            `desk widget: the identity token was refused (${reason || "unauthenticated"}): ` +
              `${detail || "no detail"} The visitor chats as a guest instead, if guests are allowed.`
          );
          identity = null;
        }
      }
      if (secret) {
        try {
          return await exchange({ guest_secret: secret });
        } catch (error) {
          if (error.status !== 401) throw error;
          // Merged into a signed-in person, or deleted: this browser starts afresh.
          store("guest", null);
        }
      }
      drop();
      return null;
    }

    // GET /api/embed/me answers with a fresh token; a token past renewing is exchanged anew.
    function renew() {
      renewing =
        renewing ||
        (async () => {
          if (token) {
            try {
              return hold(await api("GET", "/api/embed/me", undefined, { url, token }));
            } catch (error) {
              if (error.status !== 401) throw error;
            }
          }
          return sign();
        })().finally(() => (renewing = null));
      return renewing;
    }

    // A request with the desk token. Refused (it expired in a sleeping tab, say): renewed once
    // and sent again.
    async function call(method, path, body) {
      try {
        return await api(method, path, body, { url, token });
      } catch (error) {
        if (error.status !== 401) throw error;
        await renew();
        return api(method, path, body, { url, token });
      }
    }

    function profile() {
      try {
        return JSON.parse(stored("profile")) || {};
      } catch (e) {
        return {};
      }
    }

    return {
      url,
      sign,
      renew,
      call,
      profile,
      hasToken: () => token !== null,
      protocols: () => ["desk", "desk.bearer." + token],
      // The visitor's first message: a guest from now on (403 when this desk has no guests).
      guest: (details) => api("POST", "/api/embed/guests", details, anonymous).then(hold),
      keepProfile: (details) => store("profile", JSON.stringify(details)),
      identify(newIdentity) {
        identity = newIdentity;
        guestLink = null;
        drop();
      },
      reset() {
        identity = null;
        guestLink = null;
        drop();
        store("guest", null);
        store("profile", null);
      },
    };
  }

  // --- The widget ---------------------------------------------------------------------------------

  const SOCKET_SEND_TIMEOUT = 10000; // a socket send unanswered by then is checked over REST
  const STATE_LABELS = {
    connected: "Connected",
    reconnecting: "Reconnecting…",
    offline: "Offline",
    idle: "Write to start a chat",
  };
  const GUESTS_OFF = "Sign in on this site to chat with support.";
  const option = (name) => (script && script.getAttribute(name)) || null;
  const deskUrl = option("data-desk-url");
  const pageMode = option("data-desk-mode") === "page";

  const icon = (paths, className) =>
    `<svg class="${className || ""}" viewBox="0 0 24 24" width="24" height="24" fill="none" ` +
    `stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" ` +
    `aria-hidden="true" focusable="false">${paths}</svg>`;
  const CHAT = '<path d="M21 11.5a8.4 8.4 0 0 1-12.3 7.4L3 21l2-5.3A8.5 8.5 0 1 1 21 11.5z"/>';
  const CLOSE = '<path d="M6 6l12 12M18 6 6 18"/>';
  const SEND = '<path d="M12 19V5M5 12l7-7 7 7"/>';

  // Fixed markup only: everything that comes from the server or the user goes in with text().
  const SKELETON = `<link rel="stylesheet">
<div class="desk">
  <section class="panel" id="panel" role="dialog" aria-modal="false" aria-labelledby="title">
    <header>
      <span class="avatar">${icon(CHAT)}</span>
      <div>
        <h2 id="title">Support</h2>
        <p class="status"><span class="dot"></span><span class="state"></span></p>
      </div>
      <button type="button" class="close" aria-label="Close support chat">${icon(CLOSE)}</button>
    </header>
    <div class="scroll">
      <p class="intro">Hi there 👋 Ask us anything: we usually reply within a few hours, and if you
        have left by then, we will email you the answer.</p>
      <div class="about" hidden>
        <p class="whoami"><span class="who"></span> <button type="button" class="edit"></button></p>
        <form class="details" hidden>
          <label>Your name <input name="name" autocomplete="name" maxlength="200"></label>
          <label>Your email, for our answers (optional)
            <input name="email" type="email" autocomplete="email" maxlength="254"></label>
          <p class="details-error" role="alert" hidden></p>
          <p class="actions"><button type="submit" class="save">Save</button>
            <button type="button" class="cancel">Cancel</button></p>
        </form>
      </div>
      <button type="button" class="earlier" hidden>Show earlier messages</button>
      <div class="log" role="log" aria-live="polite" aria-label="Conversation with support"></div>
      <p class="seen" hidden>Seen by support</p>
    </div>
    <p class="typing" hidden aria-live="polite">Support is typing…</p>
    <p class="notice" hidden role="status"></p>
    <p class="signin" hidden><a>Sign in to chat with support</a></p>
    <form class="composer">
      <textarea rows="1" aria-label="Message to support" placeholder="Write a message…"></textarea>
      <button type="submit" class="send" aria-label="Send message">${icon(SEND)}</button>
    </form>
  </section>
  <button type="button" class="launcher" aria-controls="panel" aria-expanded="false"
    aria-label="Open support chat">${icon(CHAT, "chat-icon")}${icon(CLOSE, "close-icon")}
    <span class="badge" aria-hidden="true" hidden></span></button>
</div>`;

  // Messages sort by (created_at, id), the order they committed in. Date keeps milliseconds
  // only, so the microseconds are added back.
  function order(message) {
    const fraction = (message.created_at.match(/\.(\d+)/) || [0, ""])[1];
    return Date.parse(message.created_at) * 1000 + Number((fraction + "000000").slice(3, 6));
  }
  const isBefore = (a, b) => order(a) < order(b) || (order(a) === order(b) && a.id < b.id);

  function stamp(iso) {
    if (new Date(iso).toDateString() === new Date().toDateString()) return time(iso);
    return new Date(iso).toLocaleDateString("en-US", { month: "short", day: "numeric" }) + ", " + time(iso);
  }

  // What the API said was wrong, in words for the person who typed the message.
  function problem(error) {
    const detail = error.body && error.body.detail;
    if (Array.isArray(detail)) return detail.map((item) => String(item.msg).replace(/^Value error, /, "")).join(" ");
    if (detail) return String(detail);
    if (error.status === 401) return "You are signed out: sign in again to send it.";
    return `Not sent (error ${error.status}).`;
  }

  function mount() {
    const host = document.createElement("div");
    host.id = "desk-widget";
    // Hidden until its styles have loaded, so the page never shows the bare markup. The shadow
    // root keeps the page's styles out of the widget and the widget's out of the page.
    host.hidden = true;
    const root = host.attachShadow({ mode: "open" });
    root.innerHTML = SKELETON;
    const $ = (selector) => root.querySelector(selector);
    const styles = $("link");
    styles.onload = styles.onerror = () => {
      host.hidden = false;
      // Measured again now that it is shown: while hidden, the textarea had no height.
      writing.grow();
      if (pageMode) setOpen(true);
      openFromLink();
    };
    // Beside the script, wherever it came from: desk's origin for an embedded widget.
    styles.href = new URL("widget.css", (script && script.src) || location.origin + "/static/chats/").href;
    document.body.appendChild(host);

    const desk = $(".desk");
    const launcher = $(".launcher");
    const badge = $(".badge");
    const dot = $(".dot");
    const scroller = $(".scroll");
    const log = $(".log");
    const earlier = $(".earlier");
    const seen = $(".seen");
    const typingHint = $(".typing");
    const signin = $(".signin a");
    const notice = $(".notice");
    const form = $(".composer");
    const textarea = $("textarea");
    const about = $(".about");
    const whoami = $(".whoami");
    const details = $(".details");
    const detailsError = $(".details-error");

    let chat = null; // {id, admin_viewed_at}
    const messages = new Map(); // id -> message, as the API gives it
    const ordered = []; // the same messages, oldest first
    const elements = new Map(); // id -> its element in the log
    let pending = []; // typed, not yet stored: {key, content, status, via, sentAt, error}
    let extraUnread = 0; // unread replies older than the messages loaded
    let isOpen = false;
    let connection = "reconnecting";
    let everConnected = false;
    let live = null;
    let flushing = false;
    let typingTimer = null;
    let typingSentAt = 0;
    let typingStop = null;
    let ticker = null;
    let loadTimer = null;
    let loaded = false; // the chat is loaded, or known not to exist yet (embedded)
    let beginning = null;
    let generation = 0; // bumped when the widget is emptied: answers for before are dropped
    let guestsOff = false;
    const newest = () => ordered[ordered.length - 1];

    // Embedded on another site, a desk token (embedding() above); on desk's pages, the session.
    const remote = deskUrl
      ? embedding(deskUrl.replace(/\/+$/, ""), {
          identity: option("data-desk-identity"),
          guestLink: option("data-desk-guest-link"),
          onSession: signedIn,
        })
      : null;
    const call = (method, path, body) =>
      remote ? remote.call(method, path, body) : api(method, path, body);
    // The chat, or null while an embedded person has none (it starts with their first message).
    const chatLoad = () =>
      call("GET", "/api/support_chat").catch((error) => {
        if (error.status === 404 && remote) return null;
        throw error;
      });

    // --- Rendering ---

    const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    const scrollDown = () => (scroller.scrollTop = scroller.scrollHeight);
    // Follows the newest message unless the reader has scrolled up to read older ones.
    function changing(change, follow) {
      const stick = follow || nearBottom();
      change();
      renderSeen();
      if (stick) scrollDown();
    }

    function element(tag, className, content) {
      const node = document.createElement(tag);
      node.className = className;
      return content === undefined ? node : text(node, content);
    }

    function bubble(className, content) {
      const node = element("div", "msg " + className);
      const paragraph = element("p", "bubble", content);
      paragraph.dir = "auto";
      const who = element("span", "sr", className.startsWith("user") ? "You:" : "Support:");
      node.append(who, paragraph, element("span", "meta"));
      return node;
    }

    function insert(message) {
      const node = bubble(message.sender_type, message.content);
      const when = element("time", "", stamp(message.created_at));
      when.dateTime = message.created_at;
      when.title = day(message.created_at) + ", " + time(message.created_at);
      if (message.sender_type === "admin") node.lastChild.append("Support · ");
      node.lastChild.append(when);
      let index = ordered.length;
      while (index > 0 && isBefore(message, ordered[index - 1])) index -= 1;
      ordered.splice(index, 0, message);
      elements.set(message.id, node);
      const next = ordered[index + 1];
      log.insertBefore(node, next ? elements.get(next.id) : log.querySelector(".pending"));
    }

    function button(label, onClick) {
      const node = element("button", "", label);
      node.type = "button";
      node.addEventListener("click", onClick);
      return node;
    }

    function renderPending() {
      log.querySelectorAll(".pending").forEach((node) => node.remove());
      for (const item of pending) {
        const failed = item.status === "failed";
        const node = bubble(failed ? "user pending failed" : "user pending", item.content);
        const meta = node.lastChild;
        if (!failed) {
          text(meta, item.status === "sending" ? "Sending…" : "Waiting to send…");
        } else {
          const error = element("span", "error", "Not sent: " + item.error);
          error.setAttribute("role", "alert");
          const retry = () => {
            item.status = "queued";
            item.error = null;
            flush();
          };
          const discard = () => {
            forget(item);
            textarea.focus();
          };
          meta.append(error, button("Retry", retry), button("Delete", discard));
        }
        log.append(node);
      }
      save();
    }

    function renderSeen() {
      const last = newest();
      seen.hidden = !(
        chat &&
        chat.admin_viewed_at &&
        !pending.length &&
        last &&
        last.sender_type === "user" &&
        Date.parse(chat.admin_viewed_at) >= Date.parse(last.created_at)
      );
    }

    function unreadCount() {
      let count = extraUnread;
      for (const message of messages.values()) {
        if (message.sender_type === "admin" && !message.read_at) count += 1;
      }
      return count;
    }

    function renderBadge() {
      const count = unreadCount();
      badge.hidden = count === 0;
      text(badge, count > 9 ? "9+" : count);
      let label = isOpen ? "Close support chat" : "Open support chat";
      if (count) label += `, ${count} unread ${count === 1 ? "reply" : "replies"}`;
      launcher.setAttribute("aria-label", label);
    }

    function renderConnection(state) {
      connection = state;
      everConnected = everConnected || state === "connected";
      const label = everConnected || state !== "reconnecting" ? STATE_LABELS[state] : "Connecting…";
      dot.setAttribute("data-state", state);
      dot.title = label;
      text($(".state"), label);
    }

    // --- State ---

    // Adds the messages not seen before (from the API, an event, a sync), whatever their order.
    function add(list, claim = true) {
      const fresh = list.filter((message) => {
        const known = messages.get(message.id);
        if (known && message.read_at && !known.read_at) known.read_at = message.read_at;
        return !known;
      });
      if (!fresh.length) return;
      const ours = fresh.some((message) => message.sender_type === "user");
      changing(() => {
        for (const message of fresh) {
          messages.set(message.id, message);
          if (message.sender_type === "admin") showTyping(false);
          else if (claim) claimPending(message);
          insert(message);
        }
      }, ours);
      noticeReplies();
    }

    // A stored message of ours whose answer we never got (a socket send has no acknowledgement,
    // a REST answer may be lost): the first pending message with its content, sent when this one
    // was not yet stored (`after`: the newest message then), is this one.
    function claimPending(message) {
      const index = pending.findIndex((item) => {
        const before = item.after && messages.get(item.after);
        return (
          (item.status === "sending" || item.status === "uncertain") &&
          item.content === message.content &&
          (!before || isBefore(before, message))
        );
      });
      if (index === -1) return;
      pending.splice(index, 1);
      renderPending();
    }

    function forget(item) {
      pending = pending.filter((other) => other !== item);
      changing(renderPending);
    }

    function noticeReplies() {
      if (isOpen && document.visibilityState === "visible") markRead();
      renderBadge();
    }

    function markRead() {
      if (!chat || !unreadCount()) return;
      const now = new Date().toISOString();
      for (const message of messages.values()) {
        if (message.sender_type === "admin" && !message.read_at) message.read_at = now;
      }
      extraUnread = 0;
      renderBadge();
      if (!(live && live.send({ action: "mark_read" }))) {
        // Failing that, the replies stay unread on the server and the next refresh says so.
        call("PATCH", "/api/support_chat/mark_read").catch(() => {});
      }
    }

    function apply(data) {
      chat = { id: data.id, admin_viewed_at: data.admin_viewed_at };
      add(data.messages);
      extraUnread = Math.max(0, data.unread_count - (unreadCount() - extraUnread));
      changing(renderSeen);
      noticeReplies();
    }

    const refresh = () => call("GET", "/api/support_chat").then(apply);

    // Everything stored after the newest message we have, over REST.
    async function catchUp() {
      // Embedded, before the chat is known: is there one now (our first message, stored)?
      if (!chat) return remote && begin();
      if (!newest()) return refresh();
      const page = await call("GET", `/api/support_chat/messages?limit=200&after=${newest().id}`);
      add(page.messages);
      if (page.has_more && page.messages.length) await catchUp();
    }

    function showTyping(on) {
      clearTimeout(typingTimer);
      typingHint.hidden = !on;
      if (on) typingTimer = setTimeout(showTyping, timing.typingExpiry, false);
    }

    // --- Sending: each message is stored exactly once ---

    // Kept in sessionStorage (per tab, so two tabs never both send it) so that a reload keeps
    // what was typed. A send in flight is saved as "uncertain": looked for before it is resent.
    const storageKey = () => "desk-widget:pending:" + chat.id;
    function save() {
      if (!chat) return;
      const saved = pending.map(({ key, content, status, error, after }) => ({
        key,
        content,
        error,
        after,
        status: status === "sending" ? "uncertain" : status,
      }));
      try {
        sessionStorage.setItem(storageKey(), JSON.stringify(saved));
      } catch (e) {
        // Storage disabled or full: the messages are still kept in memory.
      }
    }
    function restore() {
      try {
        pending = JSON.parse(sessionStorage.getItem(storageKey()) || "[]").concat(pending);
      } catch (e) {
        // Nothing usable saved.
      }
    }

    function submit(content) {
      stopTyping();
      const key = "w" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
      const item = { key, content, status: "queued" };
      // The socket only when nothing waits for REST, so that messages keep their order.
      const waiting = pending.some(
        (other) => other.status !== "failed" && !(other.status === "sending" && other.via === "socket")
      );
      pending.push(item);
      const frame = { action: "send_message", content, request_id: key };
      if (!waiting && connection === "connected" && chat && live.send(frame)) {
        Object.assign(item, { status: "sending", via: "socket", sentAt: Date.now() });
        item.after = newest() ? newest().id : null;
      }
      changing(renderPending, true);
      if (item.status === "queued") flush();
    }

    // Sends queued messages over REST, one at a time, so that each outcome is known. A message
    // whose outcome is unknown (the connection died mid-send) is first looked for on the server.
    async function flush() {
      const waiting = pending.some((item) => item.status === "queued" || item.status === "uncertain");
      // Embedded, a first message goes out before there is a chat (it makes one).
      if (flushing || !waiting || !(chat || (remote && loaded))) return;
      flushing = true;
      try {
        if (pending.some((item) => item.status === "uncertain")) await catchUp();
        for (const item of pending) if (item.status === "uncertain") item.status = "queued";
        if (!remote || remote.hasToken() || (await becomeGuest())) {
          let item;
          while ((item = pending.find((other) => other.status === "queued"))) await post(item);
        }
      } catch (error) {
        // Still offline: the queue waits for the next tick or the network's return (with no
        // chat yet there is no tick: it is asked for).
        if (!chat) setTimeout(flush, timing.pollInterval);
      } finally {
        flushing = false;
        changing(renderPending);
      }
    }

    async function post(item) {
      Object.assign(item, { status: "sending", via: "rest" });
      if (!("after" in item)) item.after = newest() ? newest().id : null;
      changing(renderPending);
      try {
        const message = await call("POST", "/api/support_chat/messages", { content: item.content });
        forget(item);
        add([message], false);
        if (!chat) begin();
      } catch (error) {
        if (error.status === 0 || error.status >= 500) {
          item.status = "uncertain";
          throw error;
        }
        Object.assign(item, { status: "failed", error: problem(error) });
      }
    }

    const sendTyping = (on) => live && live.send({ action: "typing", is_typing: on });
    function stopTyping() {
      clearTimeout(typingStop);
      if (typingSentAt) sendTyping(false);
      typingSentAt = 0;
    }
    function typed() {
      if (!textarea.value.trim()) return stopTyping();
      if (Date.now() - typingSentAt > timing.typingRepeat) {
        typingSentAt = Date.now();
        sendTyping(true);
      }
      clearTimeout(typingStop);
      typingStop = setTimeout(stopTyping, timing.typingIdle);
    }

    // --- The socket, and REST while it is down ---

    function onEvent(event) {
      if (!chat || (event.chat_id && event.chat_id !== chat.id)) return;
      if (event.type === "new_message") add([event.message]);
      else if (event.type === "sync") {
        add(event.messages);
        if (event.has_more && event.messages.length) sync();
      } else if (event.type === "messages_read") {
        for (const id of event.message_ids) {
          const message = messages.get(id);
          if (message && !message.read_at) message.read_at = event.read_at;
        }
        extraUnread = 0;
        renderBadge();
      } else if (event.type === "chat_viewed") {
        chat.admin_viewed_at = event.admin_viewed_at;
        changing(renderSeen);
      } else if (event.type === "typing" && event.sender_type === "admin") {
        showTyping(event.is_typing);
      } else if (event.type === "chat_merged") {
        reload();
      } else if (event.type === "error") {
        onError(event);
      }
    }

    function onError(event) {
      const item = pending.find((other) => other.key === event.request_id);
      if (!item) return;
      if (event.code === "unavailable" || event.code === "internal_error") {
        // Not stored, and worth another try: over REST, which retries until it gets an answer.
        item.status = "queued";
        return flush();
      }
      item.status = "failed";
      item.error =
        event.code === "rate_limited"
          ? `Too many messages at once. Try again in ${Math.ceil(event.retry_after || 1)} s.`
          : event.detail;
      changing(renderPending);
    }

    const sync = () => newest() && live.send({ action: "sync", after: newest().id });

    function onState(state) {
      renderConnection(state);
      if (state === "connected") return;
      // Sent over a socket that is gone: maybe stored, maybe not; flush() finds out.
      for (const item of pending) {
        if (item.status === "sending" && item.via === "socket") item.status = "uncertain";
      }
      changing(renderPending);
    }

    function onOpen() {
      sync();
      // Read markers and "seen" are state, not events: reloaded after every reconnect.
      refresh().catch(() => {});
      flush();
    }

    function tick() {
      const late = Date.now() - SOCKET_SEND_TIMEOUT;
      for (const item of pending) {
        if (item.status === "sending" && item.via === "socket" && item.sentAt < late) {
          item.status = "uncertain";
        }
      }
      if (connection === "connected") flush();
      else catchUp().then(flush, () => {});
    }

    function start(data) {
      // Restored first, so that a message whose answer was lost before the reload is recognised
      // among the stored ones instead of being sent again.
      chat = { id: data.id };
      loaded = true;
      restore();
      apply(data);
      earlier.hidden = !data.has_more;
      changing(renderPending, true);
      connect();
      ticker = setInterval(tick, timing.pollInterval);
      flush();
    }

    let renewedForSocket = false;
    function connect() {
      live = socket({
        path: `/ws/support_chat/${chat.id}/`,
        base: remote && remote.url,
        protocols: remote && remote.protocols,
        onEvent,
        onState: (state) => {
          if (state === "connected") renewedForSocket = false;
          onState(state);
        },
        onOpen,
        onRefused: refusedSocket,
      });
    }

    function refusedSocket(code) {
      if (code !== 4401) return;
      if (!remote) return signedOut();
      // The desk token ran out (a tab asleep past its renewal): renewed once, then the socket
      // again. Refused once more before it ever connected, the widget stays on REST polling.
      if (renewedForSocket) return;
      renewedForSocket = true;
      const run = generation;
      remote.renew().then(() => run === generation && chat && connect(), () => {});
    }

    // Desk's pages: the session's chat. Embedded: a desk token for the credentials this browser
    // has, then their chat if there is one (a guest's starts with the first message, never with
    // a page view).
    async function opening() {
      if (!remote) return api("GET", "/api/support_chat");
      const session = await remote.sign();
      return session && session.chat_id ? chatLoad() : null;
    }

    function load() {
      const run = generation;
      clearTimeout(loadTimer);
      return opening().then(
        (data) => {
          if (run !== generation) return;
          if (data) start(data);
          else idle();
        },
        (error) => {
          if (run !== generation) return;
          if (error.status === 401) return remote ? unavailable(problem(error)) : signedOut();
          renderConnection("offline");
          loadTimer = setTimeout(load, timing.pollInterval);
        }
      );
    }

    // Embedded, no chat yet: the widget waits for the first message.
    function idle() {
      loaded = true;
      renderConnection("idle");
      flush();
    }

    // The chat exists now (our first message made it, or support did): load it and go live.
    function begin() {
      if (chat || beginning) return beginning;
      const run = generation;
      beginning = chatLoad().then(
        (data) => {
          beginning = null;
          if (run === generation && data && !chat) start(data);
        },
        () => {
          beginning = null;
          if (run === generation) setTimeout(begin, timing.pollInterval);
        }
      );
      return beginning;
    }

    // Another chat joined this one (the person's guest chat, when they signed in): read again,
    // so that its messages take their places in order.
    function reload() {
      const run = generation;
      call("GET", "/api/support_chat").then((data) => {
        if (run !== generation) return;
        messages.clear();
        ordered.length = 0;
        elements.clear();
        log.querySelectorAll(".msg:not(.pending)").forEach((node) => node.remove());
        apply(data);
        earlier.hidden = !data.has_more;
      }, () => {});
    }

    function signedOut() {
      const next = location.pathname + location.search + "#support-chat";
      signin.href = "/accounts/login/?next=" + encodeURIComponent(next);
      signin.parentNode.hidden = false;
      form.hidden = true;
      renderConnection("offline");
    }

    // Embedded, and this widget cannot chat: a guest link that no longer works, or no guests.
    function unavailable(reason) {
      text(notice, reason);
      notice.hidden = false;
      form.hidden = true;
      about.hidden = true;
      renderConnection("offline");
    }

    // --- Embedded: who is chatting ---

    // A desk token arrived (an exchange, a renewal, a new guest).
    function signedIn(session) {
      showPerson(session.person);
      // Support, or the same person on another device, started the chat meanwhile.
      if (session.chat_id && !chat && loaded) begin();
    }

    // A guest may give a name and an email address: kept in this browser, and on desk once the
    // guest exists (PATCH /api/embed/me). An identified person's come from their site.
    function showPerson(person) {
      const guest = remote && !guestsOff && (!person || person.kind === "guest");
      about.hidden = !guest;
      if (!guest) return;
      const known = person ? { name: person.name, email: person.email } : remote.profile();
      if (person) remote.keepProfile(known);
      let line = known.name ? `Chatting as ${known.name}.` : "Chatting as a guest.";
      if (person && person.email && !person.email_confirmed) {
        line += ` Open the link we emailed to ${person.email} to get our answers there.`;
      }
      text($(".who"), line);
      text($(".edit"), known.name || known.email ? "Change" : "Add your name and email");
      // Not while the visitor is typing in it (a token renewal brings the person too).
      if (!details.hidden) return;
      details.elements.name.value = known.name || "";
      details.elements.email.value = known.email || "";
    }

    function editDetails(on) {
      details.hidden = !on;
      whoami.hidden = on;
      detailsError.hidden = true;
      if (on) details.elements.name.focus();
    }

    async function saveDetails(event) {
      event.preventDefault();
      const given = {
        name: details.elements.name.value.trim(),
        email: details.elements.email.value.trim(),
      };
      try {
        if (remote.hasToken()) {
          showPerson(await call("PATCH", "/api/embed/me", given));
        } else {
          // No guest yet: these go with the first message.
          remote.keepProfile(given);
          showPerson(null);
        }
        editDetails(false);
      } catch (error) {
        text(detailsError, problem(error));
        detailsError.hidden = false;
      }
    }

    // The visitor's first message makes them a guest, with the name and email they gave.
    async function becomeGuest() {
      const given = {};
      for (const [name, value] of Object.entries(remote.profile())) if (value) given[name] = value;
      try {
        await remote.guest(given);
        return true;
      } catch (error) {
        if (error.status === 0 || error.status >= 500) throw error;
        const reason = error.status === 403 ? GUESTS_OFF : problem(error);
        for (const item of pending) {
          if (item.status === "queued") Object.assign(item, { status: "failed", error: reason });
        }
        if (error.status === 403) {
          guestsOff = true;
          unavailable(GUESTS_OFF);
        }
        return false;
      }
    }

    // Back to an empty widget, for another person (identify) or for nobody (reset).
    function clear({ keepPending }) {
      generation += 1;
      clearTimeout(loadTimer);
      clearInterval(ticker);
      if (live) live.close();
      if (chat && !keepPending) {
        try {
          sessionStorage.removeItem(storageKey());
        } catch (e) {
          // Nothing was saved.
        }
      }
      live = null;
      chat = null;
      loaded = false;
      beginning = null;
      renewedForSocket = false;
      messages.clear();
      ordered.length = 0;
      elements.clear();
      extraUnread = 0;
      if (!keepPending) pending = [];
      log.replaceChildren();
      earlier.hidden = true;
      notice.hidden = true;
      form.hidden = false;
      showTyping(false);
      changing(renderPending);
      renderBadge();
      renderConnection("reconnecting");
    }

    const controls = {
      // After the host site's sign-in: the identity token, with this browser's guest secret so
      // that the guest's chat joins the person's; then the person's chat.
      identify(token) {
        if (!remote) return Promise.reject(new Error("DeskWidget.identify: no data-desk-url"));
        if (typeof token !== "string" || !token) {
          return Promise.reject(new TypeError("DeskWidget.identify(token): token must be a JWT"));
        }
        remote.identify(token);
        clear({ keepPending: true });
        return load();
      },
      // After the host site's sign-out: nothing of the person stays in this browser.
      reset() {
        if (!remote) return Promise.reject(new Error("DeskWidget.reset: no data-desk-url"));
        remote.reset();
        clear({ keepPending: false });
        showPerson(null);
        return load();
      },
    };

    async function showEarlier() {
      const height = scroller.scrollHeight;
      const page = await call("GET", `/api/support_chat/messages?before=${ordered[0].id}`);
      add(page.messages);
      earlier.hidden = !page.has_more;
      scroller.scrollTop += scroller.scrollHeight - height;
    }

    // --- Opening and closing ---

    function setOpen(open) {
      // Full page (desk's guest chat), the chat is all there is: it stays open.
      if (open === isOpen || (pageMode && !open)) return;
      isOpen = open;
      desk.classList.toggle("open", open);
      launcher.setAttribute("aria-expanded", String(open));
      if (open) {
        scrollDown();
        if (!form.hidden) textarea.focus();
        else if (!signin.parentNode.hidden) signin.focus();
        markRead();
      } else {
        launcher.focus();
      }
      renderBadge();
    }

    function openFromLink() {
      if (location.hash !== "#support-chat") return;
      // Cleared, so that following the same link again opens the panel again.
      history.replaceState(null, "", location.pathname + location.search);
      setOpen(true);
    }

    launcher.addEventListener("click", () => setOpen(!isOpen));
    $(".close").addEventListener("click", () => setOpen(false));
    root.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !isOpen) return;
      event.preventDefault();
      setOpen(false);
    });
    form.addEventListener("submit", (event) => event.preventDefault());
    textarea.addEventListener("input", typed);
    const writing = composer(textarea, $(".send"), submit);
    earlier.addEventListener("click", () => showEarlier().catch(() => {}));
    $(".edit").addEventListener("click", () => editDetails(true));
    $(".cancel").addEventListener("click", () => editDetails(false));
    details.addEventListener("submit", saveDetails);
    addEventListener("hashchange", openFromLink);
    addEventListener("online", flush);
    document.addEventListener("visibilitychange", noticeReplies);

    if (pageMode) desk.classList.add("page");
    renderConnection("reconnecting");
    renderBadge();
    showPerson(null);
    load();
    return controls;
  }

  // A sign-in or sign-out may come before the page has finished loading: it waits for the widget.
  let mounted;
  const widget = new Promise((resolve) => (mounted = () => resolve(mount())));
  window.DeskWidget = {
    identify: (token) => widget.then((ready) => ready.identify(token)),
    reset: () => widget.then((ready) => ready.reset()),
  };

  if (document.body) mounted();
  else document.addEventListener("DOMContentLoaded", mounted);
})();
