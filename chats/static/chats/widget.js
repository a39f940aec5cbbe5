/*
 * desk: the support-chat widget, and DeskLive, the small browser library it shares with the
 * dashboard. One file, no build step, no framework.
 *
 *   <script src="/static/chats/widget.js" defer></script>                   on desk's own pages
 *   <script src="/static/chats/widget.js" data-desk-widget="off"></script>  DeskLive only
 *   <script src="https://desk.example/static/chats/widget.js" defer         embedded on another
 *           data-desk-url="https://desk.example"                            site, optionally for
 *           data-desk-identity="JWT"></script>                              a signed-in visitor
 *   data-desk-lang="de"                                                     the reader's language
 *
 * On desk's own pages the widget is the signed-in user's, with the session cookie. With
 * data-desk-url it is embedded on another site (docs/embed.md): it never uses desk's cookies, but
 * trades the host's identity token, a guest's secret (kept in the host page's localStorage) or a
 * guest link (data-desk-guest-link) for a short-lived desk token, and sends that as
 * `Authorization: Bearer` and as a websocket subprotocol. data-desk-mode="page" shows the chat
 * full page. window.DeskWidget.identify(token) after a sign-in, .reset() after a sign-out.
 *
 * The widget speaks the reader's language (docs/embed.md, "Languages"): data-desk-lang, else the
 * host page's <html lang>, else the browser's languages, among those desk speaks; its catalog
 * comes from desk before the widget shows a word. Its requests say that language and the
 * browser's time zone (Accept-Language and X-Desk-Time-Zone; `lang` and `tz` on its socket), so
 * that what desk writes (errors, emails) is in the same language.
 *
 * DeskLive:
 *   i18n                                           the page's language (see "Languages" below)
 *       {language, direction, supported, pick(tags), use(catalog), load(language, base),
 *        gettext(msgid), ngettext(singular, plural, n), pgettext(context, msgid),
 *        interpolate(format, values), headers()}
 *   csrfToken() -> string                          from the csrftoken cookie
 *   api(method, path, body?, remote?, {headers}?) -> Promise<json>
 *       rejects with {status, body}; status 0: no answer. remote {url, token}: desk at another
 *       origin, with a desk token (Authorization: Bearer) and no cookies; headers: extra ones
 *       (i18n.headers(): the reader's language and time zone)
 *   socket({path, base, protocols, onEvent, onState, onOpen, onRefused}) -> {send(frame), close()}
 *       send -> bool; base: desk's origin (default this page's); protocols() -> subprotocols, asked
 *       at each connect; states "connected" | "reconnecting" | "offline"; backoff with full
 *       jitter, 0.5 s .. 30 s; no reconnect after 4401/4403/4404 (onRefused(code)); onOpen on
 *       every (re)connect
 *   composer(textarea, button, onSubmit(text, files), attacher?)
 *                                                  Enter sends, Shift+Enter is a new line; with an
 *                                                  attacher, its finished uploads go too
 *   text(element, string)                          textContent, never innerHTML
 *   format(string) -> DocumentFragment             the message with its light formatting (links,
 *                                                  bold, italic, code, lists), built as elements
 *   formatted(element, string)                     the element's content replaced by format()
 *   in i18n.language (or the browser's own locale of that language) and the browser's time zone:
 *   time(iso) "14:05"; relative(iso) "2 minutes ago"; day(iso) "Monday, January 29";
 *   dateTime(iso) "Monday, January 29, 2:05 PM"; number(n) "1,042"
 *   keepRelativeTimes(root) -> stop()              re-renders [data-relative-time] every 30 s
 *   size(bytes) "48 KB"; icon(name, className) -> <svg> ("clip", "file", "close")
 *   attachments(files, {viewer, refresh}) -> {element, update(files)}
 *       a message's files: image previews (opening `viewer`), other files as download chips;
 *       attachments.from(list, ...) takes over a list the server rendered; update(files) puts in
 *       the URLs of a later payload; refresh(id) -> Promise<attachment> renews expiring URLs
 *   lightbox(container) -> {open(file, opener), close(), isOpen()}   the full image, a <dialog>
 *   upload(path, file, {remote, headers, onProgress(loaded, total)}) -> {promise, abort()}
 *       multipart POST (field `file`) with XMLHttpRequest, for its upload progress
 *   attacher({list, notice, button, input, dropZone, dropHint, pasteInto, start, enabled})
 *       the uploads waiting for the next message: picked, pasted or dropped; chips with progress
 *   timing {pollInterval, typingExpiry, typingRepeat, typingIdle}   milliseconds, shared by all
 *
 * The REST API and the websocket events are documented in README.md, docs/events.md and
 * docs/embed.md.
 */
(() => {
  "use strict";

  const script = document.currentScript;

  // --- DeskLive: the shared library ---------------------------------------------------------------

  // --- Languages: the reader's words, dates and numbers ------------------------------------------
  //
  // DeskLive.i18n translates with a catalog from desk (GET /api/i18n/<language>, desk/i18n.py, or
  // embedded in a dashboard page): {language, direction, messages}. A plural text is keyed by its
  // singular and maps CLDR plural categories (Intl.PluralRules) to its forms; a text with a
  // context is keyed "context\u0004msgid". Whatever the catalog lacks stays English.
  //
  // Texts are marked for `manage.py catalogs update` (docs/languages.md) by calling the plain
  // names gettext("..."), ngettext("...", "...", n) and pgettext("context", "...") with
  // double-quoted literals, whole sentences with named placeholders ("%(name)s", filled by
  // interpolate()); a `// Translators:` line just before a call is a note for the translators.
  // Dates, times and numbers are Intl's, in the language and the browser's time zone.

  const LANGUAGES = Object.freeze(["en", "ru", "de", "fr", "es", "ar"]);
  const RIGHT_TO_LEFT = ["ar"];
  const CONTEXT_SEPARATOR = "\u0004";
  const ENGLISH = Object.freeze({ language: "en", direction: "ltr", messages: {} });
  // A catalog that has not come by then never will: the widget goes on in English.
  const CATALOG_TIMEOUT = 8000;

  let catalogMessages = {};
  // The locale Intl writes in: the language, or the browser's own locale of that language.
  let intlLocale = "en";
  const formatters = new Map(); // kind and options -> Intl formatter, for intlLocale

  // The first of the tags (BCP 47, best first) desk speaks: exactly, else by its primary subtag
  // ("de-AT" -> "de"); null if none. The same rule as desk.i18n.language_pick.
  function languageMatch(tags) {
    for (const given of [].concat(tags == null ? [] : tags)) {
      const tag = String(given).trim().toLowerCase().replace(/_/g, "-");
      if (!tag || tag.length > 35) continue;
      if (LANGUAGES.includes(tag)) return tag;
      const primary = tag.split("-")[0];
      if (LANGUAGES.includes(primary)) return primary;
    }
    return null;
  }

  // The browser's own locale where it is of `language` ("en-GB" writes a 24-hour clock), else the
  // language itself.
  function localeOf(language) {
    const own = [Intl.DateTimeFormat().resolvedOptions().locale].concat(navigator.languages || []);
    for (const tag of own) {
      if (!tag || String(tag).toLowerCase().split(/[-_]/)[0] !== language) continue;
      try {
        return Intl.getCanonicalLocales(tag)[0];
      } catch (e) {
        // Not a valid tag: the next one.
      }
    }
    return language;
  }

  function use(catalog) {
    const given = catalog || ENGLISH;
    const language = languageMatch(given.language) || "en";
    const direction = ["ltr", "rtl"].includes(given.direction) ? given.direction : null;
    i18n.language = language;
    i18n.direction = direction || (RIGHT_TO_LEFT.includes(language) ? "rtl" : "ltr");
    catalogMessages = given.messages && typeof given.messages === "object" ? given.messages : {};
    intlLocale = localeOf(language);
    formatters.clear();
    return i18n;
  }

  // The catalog of `language` from desk at `base` (default: this page's origin), installed with
  // use(); English needs none. It never rejects: without its catalog the page is in English.
  // -> Promise<the language in use>
  function load(language, base) {
    const wanted = languageMatch(language) || "en";
    if (wanted === "en") return Promise.resolve(use(ENGLISH).language);
    const url = String(base || location.origin).replace(/\/+$/, "") + "/api/i18n/" + wanted;
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = setTimeout(() => controller && controller.abort(), CATALOG_TIMEOUT);
    // Public and cached, and never with cookies: a host site's widget has no business with them.
    return fetch(url, {
      credentials: "omit",
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined,
    })
      .then((response) => {
        if (!response.ok) throw new Error(`desk: no catalog for ${wanted} (${response.status})`);
        return response.json();
      })
      .then((catalog) => use(catalog).language)
      .catch(() => use(ENGLISH).language)
      .finally(() => clearTimeout(timer));
  }

  function gettext(msgid) {
    const found = catalogMessages[msgid];
    return typeof found === "string" && found ? found : msgid;
  }

  const pluralRules = new Map(); // language -> Intl.PluralRules
  function pluralCategory(count) {
    let rules = pluralRules.get(i18n.language);
    if (!rules) {
      rules = new Intl.PluralRules(i18n.language);
      pluralRules.set(i18n.language, rules);
    }
    return rules.select(Number(count));
  }

  function ngettext(singular, plural, count) {
    const found = catalogMessages[singular];
    if (found && typeof found === "object") {
      const form = found[pluralCategory(count)] || found.other;
      if (typeof form === "string" && form) return form;
    }
    return Number(count) === 1 ? singular : plural;
  }

  function pgettext(context, msgid) {
    const found = catalogMessages[context + CONTEXT_SEPARATOR + msgid];
    return typeof found === "string" && found ? found : msgid;
  }

  // "%(name)s" -> values.name, "%%" -> "%" (as Python's % does with a dict); a name missing from
  // `values` stays as it is.
  function interpolate(format, values) {
    return String(format).replace(/%\((\w+)\)s|%%/g, (match, name) => {
      if (name === undefined) return "%";
      return values && name in values ? String(values[name]) : match;
    });
  }

  // The browser's IANA time zone ("Europe/Berlin"), or null where it does not say.
  function timeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
    } catch (e) {
      return null;
    }
  }

  // What a request says of its reader, for desk to answer (and email) in their language and time.
  function localeHeaders() {
    const headers = { "Accept-Language": i18n.language };
    const zone = timeZone();
    if (zone) headers["X-Desk-Time-Zone"] = zone;
    return headers;
  }

  const i18n = {
    language: "en",
    direction: "ltr",
    supported: LANGUAGES,
    pick: (tags) => languageMatch(tags) || "en",
    use,
    load,
    gettext,
    ngettext,
    pgettext,
    interpolate,
    headers: localeHeaders,
  };
  use(ENGLISH);

  // An Intl formatter for intlLocale, made once: `Kind` Intl.DateTimeFormat, NumberFormat...
  function formatter(Kind, options) {
    const key = Kind.name + JSON.stringify(options);
    let found = formatters.get(key);
    if (!found) {
      found = new Kind(intlLocale, options);
      formatters.set(key, found);
    }
    return found;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    // A site with CSRF_COOKIE_HTTPONLY still renders the token into its forms.
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function api(method, path, body, remote, options) {
    const headers = { Accept: "application/json", ...((options && options.headers) || {}) };
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

  function composer(textarea, button, onSubmit, files) {
    // Something to send (text, or uploads that are done), and no upload still running.
    const canSend = () =>
      !(files && files.busy()) && (Boolean(textarea.value.trim()) || Boolean(files && files.ready()));
    const grow = () => {
      textarea.style.height = "auto";
      textarea.style.height = textarea.scrollHeight + "px";
      button.disabled = !canSend();
    };
    const submit = () => {
      if (!canSend()) return;
      const value = textarea.value.trim();
      const attached = files ? files.take() : [];
      textarea.value = "";
      grow();
      onSubmit(value, attached);
    };
    if (files) files.onChange(grow);
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

  // --- Formatting: message text as elements -------------------------------------------------------
  //
  // The twin of chats/formatting.py (which renders the same for emails and desk's own pages):
  // the same steps, function for function, and tests/formatting_cases.json holds the cases both
  // must render identically. A change here is a change there and in that table. The elements are
  // built with createElement and text nodes; nothing is ever parsed as HTML. Each step is a single
  // pass or a search that never goes back over what it passed: linear in the message's length.

  const LINK_ATTRIBUTES = [
    ["target", "_blank"],
    ["rel", "noopener noreferrer nofollow"],
  ];
  const SCHEMES = ["https://", "http://", "mailto:"];
  const WWW = "www.";
  const URL_INITIALS = "hHmMwW";
  // Left off the end of a URL: the sentence's punctuation, not the address's.
  const TRAILING = ".,:;!?*_~'";
  const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const LOCAL_CHARACTERS = ALPHANUMERIC + "._%+-";
  const DOMAIN_CHARACTERS = ALPHANUMERIC + ".-";
  const LETTERS = ALPHANUMERIC.slice(0, 52);
  const LANGUAGE_CHARACTERS = ALPHANUMERIC + "_+#.-";
  const LANGUAGE_LENGTH = 32;
  const FENCE = "```";
  const SPACE = /^[\t \p{Zs}]$/u;
  const WORD = /^[\p{L}\p{N}]$/u;

  // The character (a code point, as Python counts them) at `index`, or just before it; "" at
  // either end.
  const charAt = (line, index) =>
    index < line.length ? String.fromCodePoint(line.codePointAt(index)) : "";
  function charBefore(line, index) {
    if (index <= 0) return "";
    const low = line.charCodeAt(index - 1);
    if (index >= 2 && low >= 0xdc00 && low <= 0xdfff) {
      const high = line.charCodeAt(index - 2);
      if (high >= 0xd800 && high <= 0xdbff) return line.slice(index - 2, index);
    }
    return line[index - 1];
  }
  const isBlank = (character) => character === " " || character === "\t";
  const isDigit = (character) => character >= "0" && character <= "9";
  const isSpace = (character) => character !== "" && SPACE.test(character);
  const isWord = (character) => character !== "" && WORD.test(character);
  const isUrlCharacter = (character) =>
    !(isSpace(character) || '<>"`'.includes(character) || character < " " || character === "\x7f");

  function strip(line) {
    let start = 0;
    let end = line.length;
    while (start < end && isBlank(line[start])) start += 1;
    while (end > start && isBlank(line[end - 1])) end -= 1;
    return line.slice(start, end);
  }

  // Whether `prefix` (lower-case ASCII) is at `index`, ignoring the case of ASCII letters.
  function startsWith(line, index, prefix) {
    if (index + prefix.length > line.length) return false;
    for (let offset = 0; offset < prefix.length; offset += 1) {
      let character = line[index + offset];
      if (character >= "A" && character <= "Z") character = character.toLowerCase();
      if (character !== prefix[offset]) return false;
    }
    return true;
  }

  // The message's elements in document order: [kind, value, attributes] with kind "open" (value:
  // the tag), "close", "text" or "br". A flat list, so that deep nesting needs no recursion.
  function messageEvents(source) {
    const lines = source.replace(/\r\n?/g, "\n").split("\n");
    const events = [];
    const textLines = [];
    let items = [];
    let listTag = "";
    let listStart = 1;
    // Once a fence has no closing line after it, no later fence has one either: each line is
    // looked at a bounded number of times.
    let fencesMayClose = true;
    let index = 0;

    function endList() {
      if (!listTag) return;
      events.push(["open", listTag, listStart !== 1 ? [["start", String(listStart)]] : []]);
      for (const item of items) {
        events.push(["open", "li", []]);
        inline(item, events);
        events.push(["close", "li", []]);
      }
      events.push(["close", listTag, []]);
      items = [];
      listTag = "";
    }

    function endText() {
      let start = 0;
      let end = textLines.length;
      while (start < end && !strip(textLines[start])) start += 1;
      while (end > start && !strip(textLines[end - 1])) end -= 1;
      for (let number = start; number < end; number += 1) {
        if (number > start) events.push(["br", "", []]);
        inline(textLines[number], events);
      }
      textLines.length = 0;
    }

    while (index < lines.length) {
      const line = lines[index];
      const info = fenceInfo(line);
      if (info !== null && fencesMayClose) {
        let close = index + 1;
        while (close < lines.length && strip(lines[close]) !== FENCE) close += 1;
        if (close < lines.length) {
          endList();
          endText();
          const code = lines.slice(index + 1, close);
          if (info && !isLanguage(info)) code.unshift(info);
          events.push(["open", "pre", []], ["open", "code", []]);
          if (code.length) events.push(["text", code.join("\n"), []]);
          events.push(["close", "code", []], ["close", "pre", []]);
          index = close + 1;
          continue;
        }
        fencesMayClose = false;
      }
      const item = listItem(line);
      if (item === null) {
        endList();
        textLines.push(line);
      } else {
        const [tag, start, content] = item;
        if (tag !== listTag) {
          endList();
          endText();
          listTag = tag;
          listStart = start;
        }
        items.push(content);
      }
      index += 1;
    }
    endList();
    endText();
    return events;
  }

  // What follows the ``` of a line that opens a code block, or null for any other line.
  function fenceInfo(line) {
    const stripped = strip(line);
    if (!stripped.startsWith(FENCE)) return null;
    const rest = stripped.slice(FENCE.length);
    if (rest.includes("`")) return null; // ```code``` on one line: inline code
    return strip(rest);
  }

  const isLanguage = (info) =>
    info.length <= LANGUAGE_LENGTH &&
    Array.from(info).every((character) => LANGUAGE_CHARACTERS.includes(character));

  // [tag, start number, content] of a "- ", "* " or "1. " line, else null.
  function listItem(line) {
    let position = 0;
    while (position < line.length && isBlank(line[position])) position += 1;
    if (position === line.length) return null;
    let tag = "ul";
    let number = 1;
    if (line[position] === "-" || line[position] === "*") {
      position += 1;
    } else {
      const digits = position;
      while (position < line.length && isDigit(line[position]) && position - digits < 10) {
        position += 1;
      }
      if (position === digits || position - digits > 9) return null;
      if (position === line.length || !".)".includes(line[position])) return null;
      tag = "ol";
      number = parseInt(line.slice(digits, position), 10);
      position += 1;
    }
    if (position === line.length || !isBlank(line[position])) return null;
    const content = strip(line.slice(position));
    return content ? [tag, number, content] : null;
  }

  // A run of "*" (1 to 3) or "_" (1) that may open or close emphasis.
  function delimiter(character, start, length, canOpen, canClose) {
    // Its place among the line's delimiters, and what pairing makes of it: the characters not
    // used yet, the tags it opens and those it closes.
    const pairing = { order: 0, remaining: length, opens: [], closes: [] };
    return { character, start, length, canOpen, canClose, ...pairing };
  }

  // A line's pieces, in order: ["text", text], ["code", content], ["link", text, href], or a
  // delimiter; then their events.
  function inline(line, events) {
    const pieces = [];
    for (const [kind, start, end, inner] of codeSpans(line)) {
      if (kind === "code") pieces.push(["code", inner, ""]);
      else links(line, start, end, pieces);
    }
    emphasis(pieces);
    for (const piece of pieces) {
      if (!Array.isArray(piece)) {
        for (const tag of piece.closes) events.push(["close", tag, []]);
        if (piece.remaining) events.push(["text", piece.character.repeat(piece.remaining), []]);
        for (const tag of piece.opens.slice().reverse()) events.push(["open", tag, []]);
        continue;
      }
      const [kind, value, href] = piece;
      if (kind === "text") {
        events.push(["text", value, []]);
      } else if (kind === "code") {
        events.push(["open", "code", []], ["text", value, []], ["close", "code", []]);
      } else {
        events.push(["open", "a", [["href", href], ...LINK_ATTRIBUTES]]);
        events.push(["text", value, []], ["close", "a", []]);
      }
    }
  }

  // The line as ["text", start, end, ""] and ["code", start, end, content] parts. A run of
  // backticks opens a code span closed by the next run of the same length; a run with no such
  // partner is text. The partner of each run is found in one pass from the right.
  function codeSpans(line) {
    const runs = [];
    let position = 0;
    while (position < line.length) {
      if (line[position] === "`") {
        const start = position;
        while (position < line.length && line[position] === "`") position += 1;
        runs.push([start, position - start]);
      } else {
        position += 1;
      }
    }
    const partner = new Array(runs.length).fill(-1);
    const last = new Map();
    for (let number = runs.length - 1; number >= 0; number -= 1) {
      const length = runs[number][1];
      partner[number] = last.has(length) ? last.get(length) : -1;
      last.set(length, number);
    }
    const parts = [];
    let textStart = 0;
    let number = 0;
    while (number < runs.length) {
      const closing = partner[number];
      if (closing === -1) {
        number += 1;
        continue;
      }
      const [start, length] = runs[number];
      const end = runs[closing][0];
      if (textStart < start) parts.push(["text", textStart, start, ""]);
      let content = line.slice(start + length, end);
      const padded = content[0] === " " && content[content.length - 1] === " ";
      if (content.length >= 2 && padded && /[^ ]/.test(content)) content = content.slice(1, -1);
      parts.push(["code", start, end + length, content]);
      textStart = end + length;
      number = closing + 1;
    }
    if (textStart < line.length) parts.push(["text", textStart, line.length, ""]);
    return parts;
  }

  // line[start:end] (no code in it) as text and link pieces.
  function links(line, start, end, pieces) {
    let pending = start;
    let position = start;
    while (position < end) {
      let link = null;
      if (line[position] === "@") {
        link = emailAt(line, pending, position, end);
      } else if (URL_INITIALS.includes(line[position]) && !isWord(charBefore(line, position))) {
        link = urlAt(line, position, end);
      }
      if (link === null) {
        position += 1;
        continue;
      }
      const [linkStart, linkEnd, href] = link;
      textPieces(line, pending, linkStart, pieces);
      pieces.push(["link", line.slice(linkStart, linkEnd), href]);
      pending = position = linkEnd;
    }
    textPieces(line, pending, end, pieces);
  }

  // The http(s)://, mailto: or www. address at `start`, if there is one.
  function urlAt(line, start, end) {
    const prefix = SCHEMES.concat(WWW).find((candidate) => startsWith(line, start, candidate));
    if (prefix === undefined) return null;
    const body = start + prefix.length;
    if (body >= end || !isWord(charAt(line, body))) return null;
    let stop = body;
    let opened = 0;
    let closed = 0;
    while (stop < end && isUrlCharacter(line[stop])) {
      if (line[stop] === "(") opened += 1;
      else if (line[stop] === ")") closed += 1;
      stop += 1;
    }
    while (stop > body) {
      const last = line[stop - 1];
      if (TRAILING.includes(last)) {
        stop -= 1;
      } else if (last === ")" && closed > opened) {
        stop -= 1;
        closed -= 1;
      } else {
        break;
      }
    }
    if (stop === body) return null;
    const text = line.slice(start, stop);
    return [start, stop, prefix === WWW ? "http://" + text : text];
  }

  // The bare address around the "@" at `at`, if there is one.
  function emailAt(line, pending, at, end) {
    let start = at;
    while (start > pending && LOCAL_CHARACTERS.includes(line[start - 1])) start -= 1;
    // Not the start of an address: the dot ending a sentence, the "_" of _italic_.
    while (start < at && (line[start] === "." || line[start] === "_")) start += 1;
    if (start === at || isWord(charBefore(line, start))) return null;
    let stop = at + 1;
    while (stop < end && DOMAIN_CHARACTERS.includes(line[stop])) stop += 1;
    while (stop > at + 1 && (line[stop - 1] === "." || line[stop - 1] === "-")) stop -= 1;
    if (stop < line.length && (line[stop] === "@" || isWord(charAt(line, stop)))) return null;
    const labels = line.slice(at + 1, stop).split(".");
    const top = labels[labels.length - 1];
    if (labels.length < 2 || top.length < 2 || !Array.from(top).every((c) => LETTERS.includes(c))) {
      return null;
    }
    if (!labels.every((label) => label && label[0] !== "-" && label[label.length - 1] !== "-")) {
      return null;
    }
    return [start, stop, "mailto:" + line.slice(start, stop)];
  }

  // line[start:end] as text pieces and the delimiter runs in it.
  function textPieces(line, start, end, pieces) {
    let pending = start;
    let position = start;
    while (position < end) {
      const character = line[position];
      if (character !== "*" && character !== "_") {
        position += 1;
        continue;
      }
      const run = position;
      while (position < end && line[position] === character) position += 1;
      const length = position - run;
      if (length > (character === "*" ? 3 : 1)) continue;
      const before = charBefore(line, run);
      const after = charAt(line, position);
      const canOpen = after !== "" && !isSpace(after) && !isWord(before);
      const canClose = before !== "" && !isSpace(before) && !isWord(after);
      if (!(canOpen || canClose)) continue;
      if (pending < run) pieces.push(["text", line.slice(pending, run), ""]);
      pieces.push(delimiter(character, run, length, canOpen, canClose));
      pending = position;
    }
    if (pending < end) pieces.push(["text", line.slice(pending, end), ""]);
  }

  // Pairs the delimiters: each closer with the nearest opener of its character. One stack per
  // character. A pair makes the openers of the other character between them plain text, so the
  // elements nest; each delimiter is pushed and popped at most once.
  function emphasis(pieces) {
    const stacks = { "*": [], _: [] };
    const delimiters = pieces.filter((piece) => !Array.isArray(piece));
    delimiters.forEach((current, order) => {
      current.order = order;
      if (current.canClose) {
        const stack = stacks[current.character];
        const other = stacks[current.character === "*" ? "_" : "*"];
        while (current.remaining && stack.length) {
          const opener = stack[stack.length - 1];
          const both = opener.remaining >= 2 && current.remaining >= 2;
          const used = both && current.character === "*" ? 2 : 1;
          const tag = used === 2 ? "strong" : "em";
          opener.remaining -= used;
          current.remaining -= used;
          opener.opens.push(tag);
          current.closes.push(tag);
          while (other.length && other[other.length - 1].order > opener.order) other.pop();
          if (!opener.remaining) stack.pop();
        }
      }
      if (current.canOpen && current.remaining) stacks[current.character].push(current);
    });
  }

  // The message as a DocumentFragment of <strong>, <em>, <code>, <pre>, <ul>, <ol>, <li>, <a> and
  // <br> elements and text nodes.
  function format(source) {
    const fragment = document.createDocumentFragment();
    const open = [fragment];
    for (const [kind, value, attributes] of messageEvents(source == null ? "" : String(source))) {
      const parent = open[open.length - 1];
      if (kind === "text") {
        parent.append(document.createTextNode(value));
      } else if (kind === "br") {
        parent.append(document.createElement("br"));
      } else if (kind === "close") {
        open.pop();
      } else {
        const node = document.createElement(value);
        for (const [name, attribute] of attributes) node.setAttribute(name, attribute);
        parent.append(node);
        open.push(node);
      }
    }
    return fragment;
  }

  // The element's content replaced by the formatted message.
  function formatted(element, value) {
    element.replaceChildren(format(value));
    return element;
  }

  // Moments in the reader's language and the browser's time zone (Intl's own words and order).
  const CLOCK = { hour: "numeric", minute: "2-digit" };
  const time = (iso) => formatter(Intl.DateTimeFormat, CLOCK).format(new Date(iso));
  const day = (iso) => formatter(Intl.DateTimeFormat, FULL_DATE).format(new Date(iso));
  const FULL_DATE = { weekday: "long", month: "long", day: "numeric" };
  const dateTime = (iso) =>
    formatter(Intl.DateTimeFormat, { ...FULL_DATE, ...CLOCK }).format(new Date(iso));
  const number = (value, options) => formatter(Intl.NumberFormat, options || {}).format(value);

  const UNITS = [
    ["year", 31536000],
    ["month", 2592000],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];

  function relative(iso) {
    const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
    const unit = UNITS.find(([, size]) => Math.abs(seconds) >= size);
    if (!unit) return gettext("just now");
    const format = formatter(Intl.RelativeTimeFormat, { numeric: "auto" });
    return format.format(Math.round(seconds / unit[1]), unit[0]);
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

  // --- Attachments: files in messages, and uploads ------------------------------------------------
  //
  // A message's files are drawn as chats/templates/chats/_message.html draws them on the server
  // (chats/templatetags/attachment_views.py: the same elements, size text and preview size), so
  // the dashboard reads the same whichever drew it. Every URL is the server's signed one, used only
  // if it is http(s); names and sizes go in as text. Signed URLs expire: `refresh(id)` fetches the
  // attachment again for fresh ones, before a click on one about to expire and when an image fails.

  const SVG = "http://www.w3.org/2000/svg";
  const ICONS = {
    clip: [
      "M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66" +
        "l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48",
    ],
    file: ["M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z", "M14 2v6h6"],
    close: ["M6 6l12 12M18 6 6 18"],
  };
  // The box an image preview fits in, in CSS pixels (PREVIEW_BOX in attachment_views.py).
  const PREVIEW_BOX = 240;
  // chats.models.ATTACHMENTS_PER_MESSAGE: more is refused with the whole message.
  const ATTACHMENTS_PER_MESSAGE = 10;
  // A signed URL this close to its expiry is renewed before it is used.
  const URL_MARGIN = 60000;

  function svgIcon(name, className) {
    const svg = document.createElementNS(SVG, "svg");
    for (const [attribute, value] of [
      ["class", className],
      ["viewBox", "0 0 24 24"],
      ["width", "24"],
      ["height", "24"],
      ["fill", "none"],
      ["stroke", "currentColor"],
      ["stroke-width", "2"],
      ["stroke-linecap", "round"],
      ["stroke-linejoin", "round"],
      ["aria-hidden", "true"],
      ["focusable", "false"],
    ]) {
      svg.setAttribute(attribute, value);
    }
    for (const d of ICONS[name]) {
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  }

  // "312 bytes", "4.7 KB", "48 KB", "1.2 MB": the same digits as attachment_views.file_size, in
  // the reader's language ("4,7 KB" in German).
  function size(bytes) {
    const count = Math.max(0, Math.floor(Number(bytes) || 0));
    const digits = (value) => number(value, { maximumFractionDigits: 1, useGrouping: false });
    if (count < 1024) {
      const bytes = ngettext("%(count)s byte", "%(count)s bytes", count);
      return interpolate(bytes, { count: digits(count) });
    }
    let value = count / 1024;
    let unit = 0;
    while (value >= 1024 && unit < 2) {
      value /= 1024;
      unit += 1;
    }
    // Rounded half up to tenths below 10, to units above, as attachment_views rounds.
    const rounded = value < 10 ? Math.floor(value * 10 + 0.5) / 10 : Math.floor(value + 0.5);
    const values = { size: digits(rounded) };
    // Translators: a file's size in kilobytes, megabytes or gigabytes (1 KB is 1,024 bytes).
    if (unit === 0) return interpolate(gettext("%(size)s KB"), values);
    if (unit === 1) return interpolate(gettext("%(size)s MB"), values);
    return interpolate(gettext("%(size)s GB"), values);
  }

  // "PDF" for "invoice.pdf": desk names every file with the extension of what it holds.
  function kind(name) {
    const dot = String(name).lastIndexOf(".");
    return dot > 0 ? String(name).slice(dot + 1).toUpperCase() : "";
  }

  // The preview's size: the image's proportions, at most PREVIEW_BOX either way.
  function previewSize(width, height) {
    const scale = Math.min(1, PREVIEW_BOX / Math.max(width, height));
    const side = (pixels) => Math.max(1, Math.floor(pixels * scale + 0.5));
    return [side(width), side(height)];
  }

  // A URL from the server, if it is one to put in a src or href: http(s) only, never
  // javascript: or data:.
  function serverUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const protocol = new URL(value, location.href).protocol;
      return protocol === "https:" || protocol === "http:" ? value : null;
    } catch (e) {
      return null;
    }
  }

  const isImage = (file) =>
    Boolean(serverUrl(file.thumbnail_url)) && Number(file.width) > 0 && Number(file.height) > 0;

  // Whether a signed URL has expired or is about to (`e`: its expiry, in Unix seconds).
  function expiring(url) {
    try {
      const expires = Number(new URL(url).searchParams.get("e"));
      return expires > 0 && expires * 1000 < Date.now() + URL_MARGIN;
    } catch (e) {
      return false;
    }
  }

  function linkTo(anchor, url) {
    if (url) anchor.href = url;
    else anchor.removeAttribute("href");
  }

  // One file of a message: <li class="attachment image|file" data-...> (see _message.html).
  function attachmentItem(file) {
    const item = document.createElement("li");
    const image = isImage(file);
    item.className = "attachment " + (image ? "image" : "file");
    item.setAttribute("data-attachment-id", String(file.id));
    item.setAttribute("data-size", String(file.size));
    item.setAttribute("data-content-type", String(file.content_type || ""));
    const link = document.createElement("a");
    link.className = image ? "preview" : "file-link";
    linkTo(link, serverUrl(file.url));
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    if (image) {
      item.setAttribute("data-width", String(file.width));
      item.setAttribute("data-height", String(file.height));
      const img = document.createElement("img");
      img.src = serverUrl(file.thumbnail_url);
      const [width, height] = previewSize(Number(file.width), Number(file.height));
      img.width = width;
      img.height = height;
      img.alt = String(file.name);
      link.append(img);
    } else {
      const name = text(document.createElement("span"), file.name);
      name.className = "file-name";
      name.dir = "auto";
      const about = [kind(file.name), size(file.size)].filter(Boolean).join(" · ");
      const details = text(document.createElement("span"), about);
      details.className = "file-size";
      link.append(svgIcon("file", "file-icon"), name, details);
    }
    item.append(link);
    return item;
  }

  // The attachment an element drawn by attachmentItem (or _message.html) shows.
  function attachmentOf(item) {
    const link = item.querySelector("a");
    const img = item.querySelector("img");
    const name = img ? img.alt : item.querySelector(".file-name").textContent;
    return {
      id: item.getAttribute("data-attachment-id"),
      name,
      size: Number(item.getAttribute("data-size")),
      content_type: item.getAttribute("data-content-type"),
      url: link.getAttribute("href"),
      thumbnail_url: img ? img.getAttribute("src") : null,
      width: img ? Number(item.getAttribute("data-width")) : null,
      height: img ? Number(item.getAttribute("data-height")) : null,
    };
  }

  // A message's files, live: `attachments(files, {viewer, refresh})` draws them,
  // `attachments.from(list, ...)` takes over a list the server drew. Either returns
  // {element, update(files)}: update puts in the URLs of a later payload of the same message.
  // viewer: lightbox(); refresh(id) -> Promise<attachment> with fresh URLs.
  function attachments(files, options) {
    const list = document.createElement("ul");
    list.className = "attachments";
    list.setAttribute("aria-label", gettext("Attachments"));
    for (const file of files) list.append(attachmentItem(file));
    return attachmentsFrom(list, options);
  }

  function attachmentsFrom(list, { viewer, refresh }) {
    const known = new Map(); // id -> {file, item}
    for (const item of list.querySelectorAll(".attachment")) {
      known.set(item.getAttribute("data-attachment-id"), { file: attachmentOf(item), item });
      const preview = item.querySelector(".preview");
      if (preview) preview.setAttribute("aria-haspopup", "dialog");
    }

    // The URLs of `file` (the same attachment, signed later) into the elements that show it.
    function put(entry, file) {
      const url = serverUrl(file.url);
      const thumbnail = serverUrl(file.thumbnail_url);
      if (url) entry.file.url = url;
      if (thumbnail) entry.file.thumbnail_url = thumbnail;
      const link = entry.item.querySelector("a");
      const img = entry.item.querySelector("img");
      if (url && link.getAttribute("href") !== url) link.href = url;
      if (thumbnail && img && img.getAttribute("src") !== thumbnail) img.src = thumbnail;
    }

    // Fresh URLs for one file (null when the server would not give them).
    function renew(entry) {
      if (!refresh) return Promise.resolve(null);
      entry.renewing =
        entry.renewing ||
        refresh(entry.file.id)
          .then(
            (file) => {
              put(entry, file);
              return entry.file;
            },
            () => null
          )
          .finally(() => (entry.renewing = null));
      return entry.renewing;
    }

    const entryOf = (node) => {
      const item = node.closest(".attachment");
      return item && known.get(item.getAttribute("data-attachment-id"));
    };

    list.addEventListener("click", (event) => {
      const link = event.target.closest("a");
      const entry = link && entryOf(link);
      if (!entry) return;
      if (link.classList.contains("preview") && viewer) {
        event.preventDefault();
        if (!expiring(entry.file.url)) return viewer.open(entry.file, link);
        renew(entry).then((file) => file && viewer.open(file, link));
      } else if (entry.file.url && expiring(entry.file.url)) {
        // A download about to be refused (403): renewed first, then opened as the click would.
        event.preventDefault();
        renew(entry).then((file) => file && window.open(file.url, "_blank", "noopener,noreferrer"));
      }
    });
    // An image that fails (its URL expired in a tab left open) is renewed and loaded again, once.
    list.addEventListener(
      "error",
      (event) => {
        const img = event.target;
        const entry = img.tagName === "IMG" && entryOf(img);
        if (!entry || entry.retried) return;
        entry.retried = true;
        renew(entry).then((file) => {
          // The same URL again (it had not expired after all, the fetch failed): one more try.
          if (file && img.getAttribute("src") === file.thumbnail_url) img.src = file.thumbnail_url;
        });
      },
      true
    );

    return {
      element: list,
      update(files) {
        for (const file of files || []) {
          const entry = known.get(String(file.id));
          if (entry) put(entry, file);
        }
      },
    };
  }
  attachments.from = attachmentsFrom;

  // The larger view of an image: a modal <dialog> in `container` (a shadow root, the page's body)
  // with the full image, its name, a download link and a close button. Escape, the button and a
  // click beside the image close it; focus goes back to what opened it.
  function lightbox(container) {
    let dialog = null;
    let parts = null;
    let opener = null;

    function build() {
      dialog = document.createElement("dialog");
      dialog.className = "lightbox";
      const bar = document.createElement("div");
      bar.className = "lightbox-bar";
      const title = document.createElement("span");
      title.className = "lightbox-title";
      title.dir = "auto";
      const details = document.createElement("span");
      details.className = "lightbox-size";
      const download = text(document.createElement("a"), gettext("Download"));
      download.className = "lightbox-download";
      download.target = "_blank";
      download.rel = "noopener noreferrer";
      const close = document.createElement("button");
      close.type = "button";
      close.className = "lightbox-close";
      close.setAttribute("aria-label", gettext("Close image"));
      close.append(svgIcon("close", "lightbox-close-icon"));
      bar.append(title, details, download, close);
      const img = document.createElement("img");
      img.className = "lightbox-image";
      dialog.append(bar, img);
      parts = { title, details, download, close, img };
      close.addEventListener("click", hide);
      // Escape closes the image only (not the widget around it), whatever else listens.
      dialog.addEventListener("keydown", (event) => {
        if (event.key !== "Escape") return;
        event.preventDefault();
        event.stopPropagation();
        hide();
      });
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault();
        hide();
      });
      // A click on the backdrop (the dialog itself, around its content) closes it.
      dialog.addEventListener("click", (event) => {
        if (event.target === dialog) hide();
      });
      container.append(dialog);
    }

    function show(file, from) {
      if (!dialog) build();
      opener = from || null;
      dialog.setAttribute("aria-label", String(file.name));
      text(parts.title, file.name);
      text(parts.details, size(file.size));
      linkTo(parts.download, serverUrl(file.url));
      parts.img.alt = String(file.name);
      parts.img.width = Number(file.width) || 0;
      parts.img.height = Number(file.height) || 0;
      const url = serverUrl(file.url);
      if (url) parts.img.src = url;
      else parts.img.removeAttribute("src");
      if (!dialog.open) dialog.showModal();
      parts.close.focus();
    }

    function hide() {
      if (!dialog || !dialog.open) return;
      dialog.close();
      parts.img.removeAttribute("src");
      if (opener && opener.isConnected) opener.focus();
      opener = null;
    }

    return { open: show, close: hide, isOpen: () => Boolean(dialog && dialog.open) };
  }

  // POST one file as multipart/form-data (field `file`) with XMLHttpRequest, whose upload reports
  // its progress (fetch has none). The credentials are api()'s: the session and the CSRF token on
  // desk's pages; embedded, the desk token and no cookies. -> {promise, abort()}; the promise
  // rejects like api() ({status, body}, status 0: no answer), with `retryAfter` and `aborted`.
  // headers: extra ones, as api()'s.
  function upload(path, file, { remote, headers, onProgress } = {}) {
    const request = new XMLHttpRequest();
    const promise = new Promise((resolve, reject) => {
      request.open("POST", remote ? remote.url + path : path);
      request.setRequestHeader("Accept", "application/json");
      for (const [name, value] of Object.entries(headers || {})) {
        request.setRequestHeader(name, value);
      }
      if (remote) {
        request.withCredentials = false;
        if (remote.token) request.setRequestHeader("Authorization", "Bearer " + remote.token);
      } else {
        request.setRequestHeader("X-CSRFToken", csrfToken());
      }
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded, event.total);
      });
      request.addEventListener("load", () => {
        let json = null;
        try {
          json = request.responseText ? JSON.parse(request.responseText) : null;
        } catch (e) {
          // Not JSON (a proxy's error page): the status says enough.
        }
        if (request.status >= 200 && request.status < 300) return resolve(json);
        const retryAfter = request.getResponseHeader("Retry-After");
        reject({ status: request.status, body: json, retryAfter });
      });
      request.addEventListener("error", () => reject({ status: 0, body: null }));
      request.addEventListener("abort", () => reject({ status: 0, body: null, aborted: true }));
      const form = new FormData();
      form.append("file", file, file.name || "file");
      request.send(form);
    });
    return { promise, abort: () => request.abort() };
  }

  // Why an upload was refused, in words for the person who chose the file: the server's own
  // (its 413 names the limit, its 415 the accepted types, its 429 when to try again).
  function uploadProblem(error) {
    const detail = error.body && error.body.detail;
    const said = Array.isArray(detail)
      ? detail.map((item) => String(item.msg).replace(/^Value error, /, "")).join(" ")
      : detail
        ? String(detail)
        : "";
    if (error.status === 0) return gettext("Not uploaded: no connection to the server.");
    if (said) return said;
    if (error.status === 413) return gettext("This file is too large to send.");
    if (error.status === 415) return gettext("This type of file cannot be sent.");
    if (error.status === 429) return gettext("Too many uploads just now: try again in a minute.");
    // Translators: %(status)s is an HTTP status code, such as 502.
    return interpolate(gettext("Not uploaded (error %(status)s)."), { status: error.status });
  }

  // Worth another try as it is: no answer, over the allowance for now, trouble on the server.
  const retryable = (error) => error.status === 0 || error.status === 429 || error.status >= 500;

  // The files waiting to go with the next message: chosen with the paperclip, pasted or dropped.
  // Each is uploaded at once with `start(file, onProgress) -> {promise, abort()}` (upload() above,
  // or the widget's, which gets a desk token first) and shown in `list` as a chip: its progress,
  // then ready (a preview from the server's thumbnail) or failed with the reason and, where
  // another try may work, Retry. Each chip can be removed; an upload still running is aborted.
  // At most ATTACHMENTS_PER_MESSAGE; more are left out and `notice` says so.
  //   button, input: the paperclip and its <input type=file multiple>
  //   dropZone, dropHint: where files may be dropped, and what shows while they are dragged there
  //   pasteInto: the textarea images may be pasted into
  //   enabled() -> bool: whether files are taken now (the composer is shown)
  // -> {add(files), busy(), ready(), take() -> [attachment], restore([attachment]), clear(),
  //     onChange(callback)}
  function attacher({ list, notice, button, input, dropZone, dropHint, pasteInto, start, enabled }) {
    let items = [];
    const listeners = [];
    const changed = () => {
      list.hidden = items.length === 0;
      for (const listener of listeners) listener();
    };
    const taken = () => items.filter((item) => item.state !== "failed").length;
    const allowed = () => !enabled || enabled();

    function say(message) {
      text(notice, message || "");
      notice.hidden = !message;
    }

    function chip(item) {
      const node = document.createElement("li");
      node.className = "upload";
      const thumb = document.createElement("span");
      thumb.className = "upload-thumb";
      const body = document.createElement("span");
      body.className = "upload-body";
      const name = text(document.createElement("span"), item.name);
      name.className = "upload-name";
      name.dir = "auto";
      const status = document.createElement("span");
      status.className = "upload-status";
      const bar = document.createElement("progress");
      bar.max = 100;
      // Translators: the label of an upload's progress bar; %(name)s is the file's name.
      const uploading = interpolate(gettext("Uploading %(name)s"), { name: item.name });
      bar.setAttribute("aria-label", uploading);
      body.append(name, status, bar);
      const retry = text(document.createElement("button"), gettext("Retry"));
      retry.type = "button";
      retry.className = "upload-retry";
      retry.addEventListener("click", () => send(item));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "upload-remove";
      remove.append(svgIcon("close", "upload-remove-icon"));
      remove.addEventListener("click", () => {
        drop(item);
        (pasteInto || button).focus();
      });
      node.append(thumb, body, retry, remove);
      item.node = node;
      item.parts = { thumb, status, bar, retry, remove };
      return node;
    }

    function render(item) {
      const { thumb, status, bar, retry, remove } = item.parts;
      item.node.setAttribute("data-state", item.state);
      thumb.replaceChildren();
      const preview = item.result && isImage(item.result) ? serverUrl(item.result.thumbnail_url) : null;
      if (preview) {
        const img = document.createElement("img");
        img.src = preview;
        img.alt = "";
        thumb.append(img);
      } else {
        thumb.append(svgIcon("file", "upload-icon"));
      }
      bar.hidden = item.state !== "uploading";
      if (item.state === "uploading") {
        const percent = item.progress == null ? null : Math.round(item.progress * 100);
        if (percent == null) bar.removeAttribute("value");
        else bar.value = percent;
        item.node.setAttribute("data-progress", percent == null ? "" : String(percent));
        const percentage = number((percent || 0) / 100, { style: "percent" });
        text(
          status,
          percent == null
            ? gettext("Uploading…")
            : // Translators: %(percent)s is how much is uploaded, such as "40%".
              interpolate(gettext("Uploading… %(percent)s"), { percent: percentage })
        );
      } else if (item.state === "done") {
        item.node.removeAttribute("data-progress");
        text(status, size(item.result.size));
      } else {
        item.node.removeAttribute("data-progress");
        text(status, item.error);
      }
      // The reason a file was refused is announced; progress is the <progress> element's.
      if (item.state === "failed") status.setAttribute("role", "alert");
      else status.removeAttribute("role");
      retry.hidden = !(item.state === "failed" && item.retryable);
      const uploading = item.state === "uploading";
      const values = { name: item.name };
      remove.setAttribute(
        "aria-label",
        uploading
          ? interpolate(gettext("Cancel the upload of %(name)s"), values)
          : interpolate(gettext("Remove %(name)s"), values)
      );
      remove.title = uploading ? gettext("Cancel upload") : gettext("Remove");
    }

    function send(item) {
      Object.assign(item, { state: "uploading", progress: null, error: null, result: null });
      render(item);
      changed();
      const request = start(item.file, (loaded, total) => {
        if (item.request !== request || !total) return;
        item.progress = Math.min(1, loaded / total);
        render(item);
      });
      item.request = request;
      request.promise.then(
        (result) => {
          if (item.request !== request) return;
          Object.assign(item, { state: "done", result, request: null });
          render(item);
          changed();
        },
        (error) => {
          if (item.request !== request || error.aborted) return;
          Object.assign(item, {
            state: "failed",
            error: uploadProblem(error),
            retryable: retryable(error),
            request: null,
          });
          render(item);
          changed();
        }
      );
    }

    function drop(item) {
      if (item.request) {
        const request = item.request;
        item.request = null;
        request.abort();
      }
      items = items.filter((other) => other !== item);
      item.node.remove();
      say("");
      changed();
    }

    function add(files) {
      const chosen = Array.from(files || []);
      if (!chosen.length || !allowed()) return;
      const room = Math.max(0, ATTACHMENTS_PER_MESSAGE - taken());
      const left = chosen.length - room;
      say(
        left > 0
          ? interpolate(
              // Translators: %(limit)s: the most files in a message (10); %(count)s: those left out.
              ngettext(
                "A message takes at most %(limit)s files: %(count)s was left out.",
                "A message takes at most %(limit)s files: %(count)s were left out.",
                left
              ),
              { limit: number(ATTACHMENTS_PER_MESSAGE), count: number(left) }
            )
          : ""
      );
      for (const file of chosen.slice(0, room)) {
        const item = { file, name: file.name || "file" };
        items.push(item);
        list.append(chip(item));
        send(item);
      }
    }

    // Uploads that are done, back as chips (a message that could not be sent).
    function restore(results) {
      for (const result of results || []) {
        if (items.some((item) => item.result && item.result.id === result.id)) continue;
        const item = { name: result.name, state: "done", result };
        items.push(item);
        list.append(chip(item));
        render(item);
      }
      changed();
    }

    if (button && input) {
      button.addEventListener("click", () => input.click());
      input.addEventListener("change", () => {
        add(input.files);
        input.value = "";
      });
    }

    if (pasteInto) {
      pasteInto.addEventListener("paste", (event) => {
        const data = event.clipboardData;
        const files = data ? Array.from(data.files || []) : [];
        if (!files.length) return;
        // An image alone (a screenshot): nothing to paste as text.
        if (!Array.from(data.types || []).includes("text/plain")) event.preventDefault();
        add(files);
      });
    }

    if (dropZone) {
      const dragging = (event) =>
        allowed() && event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
      // Entering a child of the zone comes before leaving the last one: the hint stays while any
      // is entered. A drag that ends elsewhere without a dragleave (out of the window) leaves it
      // at most a moment after the last dragover.
      let depth = 0;
      let hideTimer = null;
      const hint = (on) => {
        clearTimeout(hideTimer);
        if (!on) depth = 0;
        if (dropHint) dropHint.hidden = !on;
        if (on) hideTimer = setTimeout(hint, 1500, false);
      };
      dropZone.addEventListener("dragenter", (event) => {
        if (!dragging(event)) return;
        event.preventDefault();
        depth += 1;
        hint(true);
      });
      dropZone.addEventListener("dragover", (event) => {
        if (!dragging(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
        hint(true);
      });
      dropZone.addEventListener("dragleave", () => {
        depth -= 1;
        if (depth <= 0) hint(false);
      });
      dropZone.addEventListener("drop", (event) => {
        if (!dragging(event)) return;
        event.preventDefault();
        hint(false);
        add(event.dataTransfer.files);
      });
    }

    list.hidden = true;
    notice.hidden = true;
    return {
      add,
      restore,
      busy: () => items.some((item) => item.state === "uploading"),
      ready: () => items.some((item) => item.state === "done"),
      // The uploads to send with a message, oldest first; their chips go (failed ones stay, with
      // their reasons, until removed).
      take() {
        const done = items.filter((item) => item.state === "done");
        for (const item of done) item.node.remove();
        items = items.filter((item) => item.state !== "done");
        say("");
        changed();
        return done.map((item) => item.result);
      },
      clear() {
        for (const item of items.slice()) drop(item);
        say("");
      },
      onChange: (listener) => listeners.push(listener),
    };
  }

  window.DeskLive = {
    i18n,
    timing,
    csrfToken,
    api,
    socket,
    composer,
    text,
    format,
    formatted,
    time,
    relative,
    day,
    dateTime,
    number,
    keepRelativeTimes,
    size,
    icon: svgIcon,
    attachments,
    lightbox,
    upload,
    attacher,
  };

  if (script && script.getAttribute("data-desk-widget") === "off") return;

  // --- Embedded on another site: the desk token ---------------------------------------------------

  // The widget's requests say its reader's language and time zone (DeskLive.i18n.headers()):
  // desk answers in that language, and keeps both with the person's chat for its emails.
  const request = (method, path, body, remote) =>
    api(method, path, body, remote, { headers: localeHeaders() });
  // The same for its socket, in the URL (a browser's WebSocket sends no headers of its choosing).
  function socketQuery() {
    const query = new URLSearchParams({ lang: i18n.language });
    const zone = timeZone();
    if (zone) query.set("tz", zone);
    return query.toString();
  }


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
    const exchange = (body) => request("POST", "/api/embed/token", body, anonymous).then(hold);

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
              return hold(await request("GET", "/api/embed/me", undefined, { url, token }));
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
        return await request(method, path, body, { url, token });
      } catch (error) {
        if (error.status !== 401) throw error;
        await renew();
        return request(method, path, body, { url, token });
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
      bearer: () => token,
      protocols: () => ["desk", "desk.bearer." + token],
      // The visitor's first message: a guest from now on (403 when this desk has no guests).
      guest: (details) => request("POST", "/api/embed/guests", details, anonymous).then(hold),
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
  const MINUTE = 60000;
  // Whether support is there is asked again at its opening time, up to this much later, so that
  // the widgets open then do not all ask at once (and a clock a little fast is not early).
  const OPENING_SPREAD = 5000;
  // A status change is announced once it has held this long: a socket that drops and comes back
  // at once is not read out twice.
  const ANNOUNCE_DELAY = 1500;
  // What the widget says around the texts staff write in Django admin (greeting, reply time, away
  // message; those come from desk in the reader's language), in one place. `when` is a moment in
  // the reader's language and time zone, from backAt(): "today at 16:00", "tomorrow at 9:00 AM",
  // "Monday at 9:00", "January 29 at 9:00".
  const TEXTS = Object.freeze({
    connection: (state) =>
      ({
        connecting: gettext("Connecting…"),
        connected: gettext("Connected"),
        reconnecting: gettext("Reconnecting…"),
        offline: gettext("Offline"),
        idle: gettext("Write to start a chat"),
      })[state],
    online: () => gettext("Support is online"),
    away: (when) =>
      when
        ? // Translators: the chat's status line while support is closed; %(when)s is when it
          // opens again, such as "tomorrow at 9:00" (a phrase of its own, translated below).
          interpolate(gettext("Away until %(when)s"), { when })
        : gettext("Away"),
    // Translators: when support is back: "We're back today at 16:00".
    today: (clock) => interpolate(gettext("today at %(time)s"), { time: clock }),
    // Translators: when support is back: "We're back tomorrow at 9:00".
    tomorrow: (clock) => interpolate(gettext("tomorrow at %(time)s"), { time: clock }),
    // Within a week, by the day of the week (Date.getDay(): 0 is Sunday); one sentence each, for
    // the languages whose days change with the sentence (Russian: "в среду").
    onWeekday: (weekday, clock) =>
      interpolate(
        [
          // Translators: when support is back, later this week: "We're back Sunday at 9:00".
          gettext("Sunday at %(time)s"),
          gettext("Monday at %(time)s"),
          gettext("Tuesday at %(time)s"),
          gettext("Wednesday at %(time)s"),
          gettext("Thursday at %(time)s"),
          gettext("Friday at %(time)s"),
          gettext("Saturday at %(time)s"),
        ][weekday],
        { time: clock }
      ),
    // Translators: when support is back, a week or more ahead: "We're back January 29 at 9:00";
    // %(date)s is the day and month, written for the language.
    onDate: (date, clock) => interpolate(gettext("%(date)s at %(time)s"), { date, time: clock }),
    // After the away message: when support is back, and where its answer will reach the person.
    back: {
      email: (when) =>
        when
          ? interpolate(gettext("We're back %(when)s and will email you our answer."), { when })
          : gettext("We will email you our answer."),
      invite: (when) =>
        when
          ? interpolate(
              gettext(
                "We're back %(when)s. Leave your email address and our answer will reach you there too."
              ),
              { when }
            )
          : gettext("Leave your email address and our answer will reach you there too."),
      here: (when) =>
        when
          ? interpolate(gettext("We're back %(when)s: our answer will be waiting here."), { when })
          : gettext("Our answer will be waiting here."),
    },
    leaveEmail: () => gettext("Add your email"),
    // Translators: who wrote a message: the person reading the widget.
    you: () => pgettext("message sender", "You"),
    // Translators: who wrote a message: the support team.
    support: () => pgettext("message sender", "Support"),
    // Translators: who wrote a reply: %(name)s is the support agent's name.
    from: () => gettext("%(name)s from Support"),
    guestsOff: () => gettext("Sign in on this site to chat with support."),
  });
  const option = (name) => (script && script.getAttribute(name)) || null;
  const deskUrl = option("data-desk-url");
  const pageMode = option("data-desk-mode") === "page";

  // The reader's language: the one the script tag names, else the host page's, else the first of
  // the browser's that desk speaks (each one passed over if desk does not speak it). Its catalog
  // is asked of desk at once, while the page loads; the widget is built once it is there.
  const browserLanguages = navigator.languages && navigator.languages.length
    ? navigator.languages
    : [navigator.language];
  const readerLanguage =
    languageMatch(option("data-desk-lang")) ||
    languageMatch(document.documentElement.lang) ||
    languageMatch(browserLanguages) ||
    "en";
  const translated = load(readerLanguage, deskUrl || location.origin);

  const icon = (paths, className) =>
    `<svg class="${className || ""}" viewBox="0 0 24 24" width="24" height="24" fill="none" ` +
    `stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" ` +
    `aria-hidden="true" focusable="false">${paths}</svg>`;
  const CHAT = '<path d="M21 11.5a8.4 8.4 0 0 1-12.3 7.4L3 21l2-5.3A8.5 8.5 0 1 1 21 11.5z"/>';
  const CLOSE = '<path d="M6 6l12 12M18 6 6 18"/>';
  const SEND = '<path d="M12 19V5M5 12l7-7 7 7"/>';
  const CLIP = ICONS.clip.map((d) => `<path d="${d}"/>`).join("");

  // Fixed markup only, and no words: chromeTexts() puts those in, in the reader's language, and
  // everything that comes from the server or the user goes in with text() or formatted(), as text
  // nodes. dir="auto": what people type and the texts staff write (an English greeting in the
  // Arabic widget) take the direction of their own words.
  const SKELETON = `<link rel="stylesheet">
<div class="desk">
  <section class="panel" id="panel" role="dialog" aria-modal="false" aria-labelledby="title">
    <header>
      <span class="avatar">${icon(CHAT)}</span>
      <div>
        <h2 id="title"></h2>
        <p class="status"><span class="dot"></span><span class="state" dir="auto"></span></p>
        <p class="sr announce" aria-live="polite" aria-atomic="true"></p>
      </div>
      <button type="button" class="close">${icon(CLOSE)}</button>
    </header>
    <div class="scroll">
      <div class="intro" hidden>
        <p class="greeting" dir="auto"></p>
        <p class="hours" dir="auto"></p>
        <button type="button" class="leave-email" hidden></button>
      </div>
      <div class="about" hidden>
        <p class="whoami"><span class="who"></span> <button type="button" class="edit"></button></p>
        <form class="details" hidden>
          <label><span class="name-label"></span>
            <input name="name" autocomplete="name" maxlength="200" dir="auto"></label>
          <label><span class="email-label"></span>
            <input name="email" type="email" autocomplete="email" maxlength="254" dir="auto"></label>
          <p class="details-error" role="alert" hidden></p>
          <p class="actions"><button type="submit" class="save"></button>
            <button type="button" class="cancel"></button></p>
        </form>
      </div>
      <button type="button" class="earlier" hidden></button>
      <div class="log" role="log" aria-live="polite"></div>
      <p class="seen" hidden></p>
    </div>
    <p class="typing" hidden aria-live="polite"></p>
    <p class="notice" hidden role="status"></p>
    <p class="signin" hidden><a></a></p>
    <form class="composer">
      <ul class="uploads" hidden></ul>
      <p class="uploads-notice" role="alert" hidden></p>
      <button type="button" class="attach">${icon(CLIP)}</button>
      <input type="file" class="file-input" multiple hidden tabindex="-1">
      <textarea rows="1" dir="auto"></textarea>
      <button type="submit" class="send">${icon(SEND)}</button>
    </form>
    <div class="drop" hidden>${icon(CLIP)}<p></p></div>
  </section>
  <button type="button" class="launcher" aria-controls="panel" aria-expanded="false"
    >${icon(CHAT, "chat-icon")}${icon(CLOSE, "close-icon")}
    <span class="badge" aria-hidden="true" hidden></span></button>
</div>`;

  // The skeleton's words: [selector, attribute (null: its text), text]. The launcher's label is
  // renderBadge()'s.
  const chromeTexts = () => [
    ["#title", null, gettext("Support")],
    [".close", "aria-label", gettext("Close support chat")],
    [".name-label", null, gettext("Your name")],
    [".email-label", null, gettext("Your email, for our answers (optional)")],
    [".save", null, gettext("Save")],
    [".cancel", null, gettext("Cancel")],
    [".earlier", null, gettext("Show earlier messages")],
    [".log", "aria-label", gettext("Conversation with support")],
    [".seen", null, gettext("Seen by support")],
    [".typing", null, gettext("Support is typing…")],
    [".signin a", null, gettext("Sign in to chat with support")],
    [".uploads", "aria-label", gettext("Files to send")],
    [".attach", "aria-label", gettext("Attach files")],
    [".attach", "title", gettext("Attach files (you can also paste or drop them here)")],
    ["textarea", "aria-label", gettext("Message to support")],
    ["textarea", "placeholder", gettext("Write a message…")],
    [".send", "aria-label", gettext("Send message")],
    [".drop p", null, gettext("Drop files to send them to support")],
  ];

  // A translated sentence as nodes, each value in a <bdi>: a name in another script (Arabic in an
  // English sentence, or the other way round) keeps its own direction and leaves the sentence's
  // order alone. `values`: strings or nodes.
  function sentence(format, values) {
    const fragment = document.createDocumentFragment();
    for (const part of String(format).split(/(%\(\w+\)s)/)) {
      const name = /^%\((\w+)\)s$/.exec(part);
      if (!name) {
        if (part) fragment.append(part.replace(/%%/g, "%"));
        continue;
      }
      const value = values[name[1]];
      const isolated = document.createElement("bdi");
      if (value instanceof Node) isolated.append(value);
      else text(isolated, value);
      fragment.append(isolated);
    }
    return fragment;
  }

  // Messages sort by (created_at, id), the order they committed in. Date keeps milliseconds
  // only, so the microseconds are added back.
  function order(message) {
    const fraction = (message.created_at.match(/\.(\d+)/) || [0, ""])[1];
    return Date.parse(message.created_at) * 1000 + Number((fraction + "000000").slice(3, 6));
  }
  const isBefore = (a, b) => order(a) < order(b) || (order(a) === order(b) && a.id < b.id);

  // When a message was sent: its time today, else its date and time ("Jan 29, 2:05 PM").
  function stamp(iso) {
    if (new Date(iso).toDateString() === new Date().toDateString()) return time(iso);
    return formatter(Intl.DateTimeFormat, { month: "short", day: "numeric", ...CLOCK }).format(
      new Date(iso)
    );
  }

  // What the API said was wrong, in words for the person who typed the message (desk writes its
  // `detail` in the reader's language).
  function problem(error) {
    const detail = error.body && error.body.detail;
    if (Array.isArray(detail)) return detail.map((item) => String(item.msg).replace(/^Value error, /, "")).join(" ");
    if (detail) return String(detail);
    if (error.status === 401) return gettext("You are signed out: sign in again to send it.");
    // Translators: %(status)s is an HTTP status code, such as 502.
    return interpolate(gettext("Not sent (error %(status)s)."), { status: error.status });
  }

  function mount() {
    const host = document.createElement("div");
    host.id = "desk-widget";
    // Hidden until its styles have loaded, so the page never shows the bare markup. The shadow
    // root keeps the page's styles out of the widget and the widget's out of the page.
    host.hidden = true;
    // The widget's language and direction, whatever the page's: the shadow root (and the image
    // viewer in it) inherits them from the host element.
    host.lang = i18n.language;
    host.dir = i18n.direction;
    const root = host.attachShadow({ mode: "open" });
    root.innerHTML = SKELETON;
    const $ = (selector) => root.querySelector(selector);
    $(".desk").lang = i18n.language;
    $(".desk").dir = i18n.direction;
    for (const [selector, attribute, words] of chromeTexts()) {
      if (attribute) $(selector).setAttribute(attribute, words);
      else text($(selector), words);
    }
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
    const stateLine = $(".state");
    const announcer = $(".announce");
    const intro = $(".intro");
    const greetingLine = $(".greeting");
    const hoursLine = $(".hours");
    const leaveEmail = $(".leave-email");
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
    // The larger view of an image, in the shadow root, so the widget's styles dress it.
    const viewer = lightbox(root);

    let chat = null; // {id, admin_viewed_at}
    const messages = new Map(); // id -> message, as the API gives it
    const ordered = []; // the same messages, oldest first
    const elements = new Map(); // id -> its element in the log
    const fileViews = new WeakMap(); // a message's element -> its attachments(), if it has files
    let pending = []; // typed, not yet stored: {key, content, attachments, status, via, sentAt, error}
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
    // Who is there: business hours and the texts staff wrote (GET /api/support_chat's
    // `availability`, or embedded GET /api/embed/availability), and whether a staff member has the
    // dashboard open (`support_online`, then `support_presence` events).
    let availability = null;
    let supportOnline = false;
    let checkedAt = 0;
    let hoursTimer = null;
    let spoken = "";
    let speakTimer = null;
    // Embedded: "guest" or "identified" (the token exchange says which); a guest link is support's
    // invitation, never hidden. The launcher waits for the first load to know whom it is for.
    let visitorKind = option("data-desk-identity") ? "identified" : "guest";
    let invited = Boolean(option("data-desk-guest-link"));
    let deciding = Boolean(deskUrl);
    let personEmail = "";
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
      remote ? remote.call(method, path, body) : request(method, path, body);
    // The chat, or null while an embedded person has none (it starts with their first message).
    const chatLoad = () =>
      call("GET", "/api/support_chat").catch((error) => {
        if (error.status === 404 && remote) return null;
        throw error;
      });

    // --- Rendering ---

    const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    const scrollDown = () => (scroller.scrollTop = scroller.scrollHeight);
    // The composer grows (a long message, files waiting) and the conversation shrinks: still at its
    // end if it was there.
    let atEnd = true;
    scroller.addEventListener("scroll", () => (atEnd = nearBottom()), { passive: true });
    new ResizeObserver(() => atEnd && scrollDown()).observe(scroller);
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

    // Fresh URLs for a file of this chat (those in a message expire): GET it again.
    const refreshFile = (id) => call("GET", `/api/support_chat/attachments/${encodeURIComponent(id)}`);

    // The message with its light formatting (DeskLive.format) and its files, sent or still pending
    // alike; `sender()` names who wrote it (the person's own: "You"). A message of files alone has
    // no text bubble.
    function bubble(className, content, files, sender = TEXTS.you) {
      const node = element("div", "msg " + className);
      const said = element("span", "sr");
      // Translators: read out before each message: %(sender)s is who wrote it ("You", "Support").
      said.append(sentence(pgettext("screen reader", "%(sender)s:"), { sender: sender() }));
      node.append(said);
      if (content || !(files && files.length)) {
        const body = formatted(element("div", "bubble"), content);
        body.dir = "auto";
        node.append(body);
      }
      if (files && files.length) {
        const view = attachments(files, { viewer, refresh: refreshFile });
        fileViews.set(node, view);
        node.append(view.element);
      }
      node.append(element("span", "meta"));
      return node;
    }

    // Who wrote a reply: its admin's name when support shows it ("Alice from Support"), else
    // Support; as nodes, the name isolated (sentence()).
    const replier = (message) => () =>
      message.sender_name
        ? sentence(TEXTS.from(), { name: message.sender_name })
        : text(document.createElement("span"), TEXTS.support());

    function insert(message) {
      const admin = message.sender_type === "admin";
      const sender = admin ? replier(message) : TEXTS.you;
      const node = bubble(message.sender_type, message.content, message.attachments, sender);
      const when = element("time", "", stamp(message.created_at));
      when.dateTime = message.created_at;
      when.title = dateTime(message.created_at);
      if (admin) node.lastChild.append(sender(), " · ");
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
        const className = failed ? "user pending failed" : "user pending";
        const node = bubble(className, item.content, item.attachments);
        const meta = node.lastChild;
        if (!failed) {
          text(meta, item.status === "sending" ? gettext("Sending…") : gettext("Waiting to send…"));
        } else {
          // Translators: a message that could not be sent; %(reason)s says why (desk's words).
          const reason = interpolate(gettext("Not sent: %(reason)s"), { reason: item.error });
          const error = element("span", "error", reason);
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
          meta.append(error, button(gettext("Retry"), retry), button(gettext("Delete"), discard));
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
      // Translators: the unread replies on the launcher's badge, above nine.
      const many = count > 9;
      text(badge, many ? interpolate(gettext("%(count)s+"), { count: number(9) }) : number(count));
      const values = { count: number(count) };
      let label;
      if (!count) label = isOpen ? gettext("Close support chat") : gettext("Open support chat");
      else if (isOpen) {
        label = interpolate(
          ngettext(
            "Close support chat, %(count)s unread reply",
            "Close support chat, %(count)s unread replies",
            count
          ),
          values
        );
      } else {
        label = interpolate(
          ngettext(
            "Open support chat, %(count)s unread reply",
            "Open support chat, %(count)s unread replies",
            count
          ),
          values
        );
      }
      launcher.setAttribute("aria-label", label);
    }

    function renderConnection(state) {
      connection = state;
      everConnected = everConnected || state === "connected";
      dot.setAttribute("data-state", state);
      renderStatus();
    }

    // --- Who is there ---

    // The header's line: the connection while it is not there (connecting, reconnecting, offline),
    // else who is: support online, the reply time while open, when support is back while closed.
    function renderStatus() {
      const settled = connection === "connected" || connection === "idle";
      const presence = settled && availability ? presenceKind() : "";
      let label;
      if (presence === "online") label = TEXTS.online();
      else if (presence === "open") label = availability.reply_time;
      else if (presence === "away") label = TEXTS.away(backAt(availability.opens_at));
      else if (!everConnected && connection === "reconnecting") label = TEXTS.connection("connecting");
      else label = TEXTS.connection(connection);
      dot.setAttribute("data-presence", presence);
      dot.title = label;
      text(stateLine, label);
      announce(label);
    }

    const presenceKind = () => (supportOnline ? "online" : availability.open ? "open" : "away");

    // Read out politely once it has held a moment (the panel's live region).
    function announce(label) {
      clearTimeout(speakTimer);
      speakTimer = setTimeout(() => {
        if (label !== spoken) text(announcer, (spoken = label));
      }, ANNOUNCE_DELAY);
    }

    // A moment in the reader's locale and time zone: "today at 16:00", "tomorrow at 9:00 AM",
    // "Monday at 9:00", and past a week its date too. null for none.
    function backAt(iso) {
      if (!iso) return null;
      const at = new Date(iso);
      const clock = time(iso);
      const midnight = (date) => new Date(date.getFullYear(), date.getMonth(), date.getDate());
      // Rounded: a day with a daylight-saving change is 23 or 25 hours long.
      const days = Math.round((midnight(at) - midnight(new Date())) / 86400000);
      if (days <= 0) return TEXTS.today(clock);
      if (days === 1) return TEXTS.tomorrow(clock);
      if (days < 7) return TEXTS.onWeekday(at.getDay(), clock);
      const date = formatter(Intl.DateTimeFormat, { month: "long", day: "numeric" }).format(at);
      return TEXTS.onDate(date, clock);
    }

    // The intro: the greeting, then the reply time while open; while closed, the away message,
    // when support is back and where its answer will reach the person (a guest without an
    // address is invited to leave one).
    function renderIntro() {
      intro.hidden = !availability;
      if (!availability) return;
      text(greetingLine, availability.greeting);
      greetingLine.hidden = !availability.greeting;
      let reach = null;
      if (!availability.open) {
        if (!remote || personEmail) reach = "email";
        else if (visitorKind === "guest" && !guestsOff) reach = "invite";
        else reach = "here";
      }
      if (reach) {
        const back = TEXTS.back[reach](backAt(availability.opens_at));
        text(hoursLine, [availability.away_message, back].filter(Boolean).join(" "));
      } else {
        text(hoursLine, availability.reply_time);
      }
      leaveEmail.hidden = reach !== "invite";
    }

    // Embedded for a guest, outside business hours and with hide_launcher_for_guests: no launcher,
    // unless the guest already has a chat with messages (answers to read) or the panel is open.
    // Until the first load has said whom it is for, a launcher that may be hidden waits.
    function renderLauncher() {
      const guest = remote && !pageMode && !invited && visitorKind === "guest";
      const closed = availability
        ? availability.hide_launcher_for_guests && !availability.open
        : deciding;
      launcher.hidden = Boolean(guest && closed && !ordered.length && !isOpen);
    }

    // What the server said of who is there; `next` keeps what it does not say (GET
    // /api/support_chat has no hide_launcher_for_guests).
    function present(next, online) {
      availability = { ...availability, ...next };
      supportOnline = Boolean(online);
      checkedAt = Date.now();
      renderStatus();
      renderIntro();
      renderLauncher();
      // Asked again once support is back (or, while open, once its hours end). A clock ahead of
      // the server's fires early and hears the same again: then not before a minute.
      clearTimeout(hoursTimer);
      const change = availability.open ? availability.closes_at : availability.opens_at;
      if (!change) return;
      const until = Date.parse(change) - Date.now();
      const wait = until > 0 ? until + 1000 + Math.random() * OPENING_SPREAD : MINUTE;
      // setTimeout's longest wait is under 25 days; a later opening is asked again in a day.
      hoursTimer = setTimeout(recheck, Math.min(wait, 1440 * MINUTE));
    }

    // The public answer, for anyone: what an embedded widget knows before it has a chat.
    const askAvailability = () =>
      request("GET", "/api/embed/availability", undefined, { url: remote.url }).then((answer) =>
        present(answer, answer.support_online)
      );

    // Who is there now: the chat again (its messages too), else the public answer. Failing, asked
    // again in a minute.
    function recheck() {
      const asking = chat ? refresh() : remote ? askAvailability() : Promise.resolve();
      asking.catch(() => {
        clearTimeout(hoursTimer);
        hoursTimer = setTimeout(recheck, MINUTE);
      });
    }

    // --- State ---

    // Adds the messages not seen before (from the API, an event, a sync), whatever their order.
    function add(list, claim = true) {
      const fresh = list.filter((message) => {
        const known = messages.get(message.id);
        if (known && message.read_at && !known.read_at) known.read_at = message.read_at;
        if (known) renewFiles(known, message);
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

    // A message we have, again in a later payload (a refresh, a sync, a page of history): its
    // files' URLs are that payload's, signed later than the ones shown.
    function renewFiles(known, message) {
      if (!message.attachments || !message.attachments.length) return;
      known.attachments = message.attachments;
      const view = fileViews.get(elements.get(known.id));
      if (view) view.update(message.attachments);
    }

    // The same files, by id, in any order.
    const fileIds = (list) =>
      (list || [])
        .map((file) => String(file.id))
        .sort()
        .join(" ");

    // A stored message of ours whose answer we never got (a socket send has no acknowledgement,
    // a REST answer may be lost): the first pending message with its content, sent when this one
    // was not yet stored (`after`: the newest message then), is this one.
    function claimPending(message) {
      const index = pending.findIndex((item) => {
        const before = item.after && messages.get(item.after);
        return (
          (item.status === "sending" || item.status === "uncertain") &&
          item.content === message.content &&
          fileIds(item.attachments) === fileIds(message.attachments) &&
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
      present(data.availability, data.support_online);
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
      const saved = pending.map(({ key, content, attachments, status, error, after }) => ({
        key,
        content,
        attachments,
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

    function submit(content, attached) {
      stopTyping();
      const key = "w" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
      const item = { key, content, attachments: attached || [], status: "queued" };
      // The socket only when nothing waits for REST, so that messages keep their order.
      const waiting = pending.some(
        (other) => other.status !== "failed" && !(other.status === "sending" && other.via === "socket")
      );
      pending.push(item);
      const frame = { action: "send_message", content, request_id: key };
      if (item.attachments.length) frame.attachment_ids = item.attachments.map((file) => file.id);
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
        if (!remote || remote.hasToken() || !(await becomeGuest())) {
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
        const body = { content: item.content };
        if (item.attachments && item.attachments.length) {
          body.attachment_ids = item.attachments.map((file) => file.id);
        }
        const message = await call("POST", "/api/support_chat/messages", body);
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
      } else if (event.type === "support_presence") {
        supportOnline = event.online;
        renderStatus();
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
      const wait = number(Math.ceil(event.retry_after || 1), { style: "unit", unit: "second" });
      item.error =
        event.code === "rate_limited"
          ? // Translators: %(wait)s is a number of seconds, written for the language: "5 sec".
            interpolate(gettext("Too many messages at once. Try again in %(wait)s."), { wait })
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
        path: `/ws/support_chat/${chat.id}/?${socketQuery()}`,
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

    // Desk's pages: the session's chat. Embedded: who is there first (the public answer, so that a
    // launcher hidden from guests costs no request with a credential; unanswered, the widget goes
    // on without it), then a desk token for the credentials this browser has, then their chat if
    // there is one (a guest's starts with the first message, never with a page view).
    async function opening() {
      if (!remote) return request("GET", "/api/support_chat");
      if (!availability) await askAvailability().catch(() => {});
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
          decided();
        },
        (error) => {
          if (run !== generation) return;
          decided();
          if (error.status === 401) return remote ? unavailable(problem(error)) : signedOut();
          renderConnection("offline");
          loadTimer = setTimeout(load, timing.pollInterval);
        }
      );
    }

    // The first load has said whom the widget is for: its launcher shows, or stays hidden.
    function decided() {
      deciding = false;
      renderLauncher();
      openFromLink();
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
      files.clear();
      renderConnection("offline");
    }

    // Embedded, and this widget cannot chat: a guest link that no longer works, or no guests.
    function unavailable(reason) {
      text(notice, reason);
      notice.hidden = false;
      form.hidden = true;
      files.clear();
      about.hidden = true;
      renderConnection("offline");
    }

    // --- Embedded: who is chatting ---

    // A desk token arrived (an exchange, a renewal, a new guest).
    function signedIn(session) {
      visitorKind = session.person.kind;
      showPerson(session.person);
      // Support, or the same person on another device, started the chat meanwhile.
      if (session.chat_id && !chat && loaded) begin();
    }

    // A guest may give a name and an email address: kept in this browser, and on desk once the
    // guest exists (PATCH /api/embed/me). An identified person's come from their site.
    function showPerson(person) {
      const known = person
        ? { name: person.name, email: person.email }
        : remote
          ? remote.profile()
          : {};
      personEmail = known.email || "";
      renderIntro();
      const guest = remote && !guestsOff && (!person || person.kind === "guest");
      about.hidden = !guest;
      if (!guest) return;
      if (person) remote.keepProfile(known);
      const who = $(".who");
      if (known.name) who.replaceChildren(sentence(gettext("Chatting as %(name)s."), known));
      else text(who, gettext("Chatting as a guest."));
      if (person && person.email && !person.email_confirmed) {
        const confirm = gettext("Open the link we emailed to %(email)s to get our answers there.");
        who.append(" ", sentence(confirm, { email: person.email }));
      }
      const change = known.name || known.email;
      text($(".edit"), change ? gettext("Change") : gettext("Add your name and email"));
      // Not while the visitor is typing in it (a token renewal brings the person too).
      if (!details.hidden) return;
      details.elements.name.value = known.name || "";
      details.elements.email.value = known.email || "";
    }

    // `field`: the one to type in first.
    function editDetails(on, field = "name") {
      details.hidden = !on;
      whoami.hidden = on;
      detailsError.hidden = true;
      if (on) details.elements[field].focus();
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

    // The visitor's first message, or first file, makes them a guest, with the name and email they
    // gave: once, however many ask at the same moment. -> null, or why desk refused (no answer
    // throws: worth another try).
    let becoming = null;
    function becomeGuest() {
      if (remote.hasToken()) return Promise.resolve(null);
      becoming = becoming || guestStart().finally(() => (becoming = null));
      return becoming;
    }

    async function guestStart() {
      const given = {};
      for (const [name, value] of Object.entries(remote.profile())) if (value) given[name] = value;
      try {
        await remote.guest(given);
        return null;
      } catch (error) {
        if (error.status === 0 || error.status >= 500) throw error;
        const reason = error.status === 403 ? TEXTS.guestsOff() : problem(error);
        for (const item of pending) {
          if (item.status === "queued") Object.assign(item, { status: "failed", error: reason });
        }
        if (error.status === 403) {
          guestsOff = true;
          unavailable(TEXTS.guestsOff());
        }
        return reason;
      }
    }

    // One file into the person's chat, for the next message (DeskLive.upload). Embedded, with the
    // desk token: a visitor who has not written yet becomes a guest first, and a token that ran
    // out is renewed once.
    function uploadFile(file, onProgress) {
      const path = "/api/support_chat/attachments";
      if (!remote) return upload(path, file, { headers: localeHeaders(), onProgress });
      let request = null;
      let aborted = false;
      const attempt = () => {
        if (aborted) throw { status: 0, body: null, aborted: true };
        const credentials = { url: remote.url, token: remote.bearer() };
        request = upload(path, file, { remote: credentials, headers: localeHeaders(), onProgress });
        return request.promise;
      };
      const promise = (async () => {
        const refused = await becomeGuest();
        if (refused) throw { status: 403, body: { detail: refused } };
        try {
          return await attempt();
        } catch (error) {
          if (error.status !== 401) throw error;
          await remote.renew();
          return attempt();
        }
      })();
      return {
        promise,
        abort() {
          aborted = true;
          if (request) request.abort();
        },
      };
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
      files.clear();
      viewer.close();
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
        visitorKind = "identified";
        invited = false;
        clear({ keepPending: true });
        return load();
      },
      // After the host site's sign-out: nothing of the person stays in this browser.
      reset() {
        if (!remote) return Promise.reject(new Error("DeskWidget.reset: no data-desk-url"));
        remote.reset();
        visitorKind = "guest";
        invited = false;
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
      renderLauncher();
      if (open) {
        scrollDown();
        if (!form.hidden) textarea.focus();
        else if (!signin.parentNode.hidden) signin.focus();
        markRead();
        // Before their first message, an embedded visitor hears of support from the public
        // answer: asked again if it is older than a minute.
        if (remote && !chat && Date.now() - checkedAt > MINUTE) askAvailability().catch(() => {});
      } else if (!launcher.hidden) {
        launcher.focus();
      }
      renderBadge();
    }

    // A link to the page ending in #support-chat opens the panel, once the widget is shown; not
    // a launcher hidden from guests (nor before the first load has said whether it is).
    function openFromLink() {
      if (location.hash !== "#support-chat" || host.hidden || launcher.hidden) return;
      // Cleared, so that following the same link again opens the panel again.
      history.replaceState(null, "", location.pathname + location.search);
      setOpen(true);
    }

    launcher.addEventListener("click", () => setOpen(!isOpen));
    $(".close").addEventListener("click", () => setOpen(false));
    root.addEventListener("keydown", (event) => {
      // Escape over the larger view of an image closes that view only (lightbox()).
      if (event.key !== "Escape" || !isOpen || viewer.isOpen()) return;
      event.preventDefault();
      setOpen(false);
    });
    form.addEventListener("submit", (event) => event.preventDefault());
    textarea.addEventListener("input", typed);
    // Files for the next message: the paperclip, a paste into the box, a drop onto the panel.
    const files = attacher({
      list: $(".uploads"),
      notice: $(".uploads-notice"),
      button: $(".attach"),
      input: $(".file-input"),
      dropZone: $(".panel"),
      dropHint: $(".drop"),
      pasteInto: textarea,
      start: uploadFile,
      enabled: () => !form.hidden,
    });
    const writing = composer(textarea, $(".send"), submit, files);
    earlier.addEventListener("click", () => showEarlier().catch(() => {}));
    $(".edit").addEventListener("click", () => editDetails(true));
    leaveEmail.addEventListener("click", () => editDetails(true, "email"));
    $(".cancel").addEventListener("click", () => editDetails(false));
    details.addEventListener("submit", saveDetails);
    addEventListener("hashchange", openFromLink);
    addEventListener("online", flush);
    document.addEventListener("visibilitychange", noticeReplies);

    if (pageMode) desk.classList.add("page");
    text(leaveEmail, TEXTS.leaveEmail());
    renderLauncher();
    renderConnection("reconnecting");
    renderBadge();
    showPerson(null);
    load();
    return controls;
  }

  // A sign-in or sign-out may come before the page has finished loading: it waits for the widget.
  let mounted;
  // Built once its language is there (English at once; another, once its catalog has come).
  const widget = new Promise((resolve) => {
    mounted = () => translated.then(() => resolve(mount()));
  });
  window.DeskWidget = {
    identify: (token) => widget.then((ready) => ready.identify(token)),
    reset: () => widget.then((ready) => ready.reset()),
  };

  if (document.body) mounted();
  else document.addEventListener("DOMContentLoaded", mounted);
})();
