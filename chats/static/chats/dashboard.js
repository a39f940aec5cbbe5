/*
 * desk: the admins' dashboard, live. The pages are rendered by Django (chats/dashboard.py) and work
 * without this script; it keeps them current over the websockets of docs/events.md, using
 * DeskLive from widget.js (loaded first, with data-desk-widget="off").
 *
 * - The list (/desk/) follows /ws/admin/notifications/: new messages move their chat to the top,
 *   viewed chats lose their unread dot, archived chats move between the tabs. After a reconnect the
 *   first page of the tab is fetched again over REST, so nothing missed during the gap stays stale.
 * - A chat (/desk/chats/<id>/) follows /ws/support_chat/<id>/: messages (de-duplicated by id,
 *   caught up with `sync`, polled over REST while the socket is down), the user's typing, and
 *   the read state of each reply.
 * - Both show who is there (a dot on each card, "Online" / "Offline" on a chat, from `presence`
 *   events), the number of unread chats in the tab's title (GET /api/admin/unread), and, once
 *   the admin turns them on, a desktop notification with a short tone for a user's message while
 *   the tab is hidden. The list also saves the admin's choice of staff alert emails.
 * - Both speak the page's language (its catalog is embedded in the page; DeskLive.i18n): every
 *   text here goes through gettext, and dates and times are Intl's, in the reader's time zone (a
 *   chat's messages are grouped by the reader's days, not the server's). The topbar's language
 *   switcher is sent as soon as it changes.
 */
(() => {
  "use strict";

  const D = window.DeskLive;
  // Without the library the pages stay what the server rendered: links and forms that work.
  if (!D) return;

  const ZERO_ID = "00000000-0000-0000-0000-000000000000";
  const ATTACHMENT_PREVIEW_PREFIX = "\u{1F4CE} ";
  // Shared with the widget: one value for each fact (see DeskLive.timing in widget.js).
  const { pollInterval, typingExpiry, typingRepeat, typingIdle } = D.timing;

  const $ = (selector, root) => (root || document).querySelector(selector);
  const field = (root, name) => root.querySelector(`[data-field="${name}"]`);
  const fromTemplate = (id) =>
    document.getElementById(id).content.firstElementChild.cloneNode(true);
  const stamp = (iso) => (iso ? Date.parse(iso) : -Infinity);
  const isHidden = () => document.visibilityState === "hidden";

  // --- Texts -------------------------------------------------------------------------------------

  // The page's language before a word is written: its catalog is embedded in the page (base.html,
  // desk.i18n.catalog), so nothing is fetched and nothing shows in English first.
  const catalog = document.getElementById("desk-i18n");
  if (catalog) D.i18n.use(JSON.parse(catalog.textContent));
  const { gettext, ngettext, pgettext, interpolate } = D.i18n;

  // Everything this script writes for people to read (the templates hold the rest), in one place.
  const TEXTS = {
    // The connection's indicator, and the banner under the topbar.
    states: {
      connecting: gettext("Connecting…"),
      connected: pgettext("the dashboard's connection", "Live"),
      reconnecting: gettext("Reconnecting…"),
      offline: pgettext("the dashboard's connection", "Offline"),
    },
    banners: {
      reconnecting: gettext("Reconnecting… updates may be delayed."),
      offline: gettext("Offline: live updates are paused. Still trying to reconnect."),
    },
    refusals: {
      4401: gettext("Your session has ended: sign in again to see live updates."),
      4403: gettext("You are no longer allowed to see this."),
      4404: gettext("This chat no longer exists."),
    },
    signIn: gettext("Sign in"),
    noConnection: gettext("No connection to the server. Try again."),
    failed: (status) =>
      // Translators: status is an HTTP status code, such as 500.
      interpolate(gettext("Something went wrong (%(status)s). Try again."), { status }),
    // The list.
    anonymous: gettext("Anonymous"),
    unread: gettext("(unread)"),
    messages: (count) =>
      // Translators: how many messages a chat has, on its card in the list.
      interpolate(ngettext("%(count)s message", "%(count)s messages", count), {
        count: D.number(count),
      }),
    // Before the preview of a chat whose last message is support's ("Support: Thanks!").
    supportSaid: pgettext("the last message was support's", "Support:") + " ",
    noMessages: gettext("No messages yet"),
    listNotLoaded: (reason) =>
      // Translators: reason is why, such as "No connection to the server. Try again."
      interpolate(gettext("Could not load the latest chats: %(reason)s"), { reason }),
    loading: gettext("Loading…"),
    loadMore: gettext("Load more"),
    // Translators: when is a date and time, such as "Monday, February 9, 2:05 PM".
    worksUntil: (when) => interpolate(gettext("Works until %(when)s."), { when }),
    copy: gettext("Copy"),
    copied: gettext("Copied"),
    saving: gettext("Saving…"),
    saved: gettext("Saved"),
    // A chat.
    support: pgettext("who wrote a reply", "Support"),
    online: gettext("Online"),
    offline: pgettext("the person", "Offline"),
    sent: pgettext("a reply not read yet", "Sent"),
    // Translators: time is when the person read the reply, such as "14:05".
    readAt: (time) => interpolate(gettext("Read %(time)s"), { time }),
    // Translators: reason is why the reply was refused, such as "Messages cannot be empty."
    notSent: (reason) => interpolate(gettext("Not sent: %(reason)s"), { reason }),
    mergedNotLoaded: (reason) =>
      // Translators: a guest's chat joined the chat of the person they signed in as.
      interpolate(gettext("Could not load the merged messages: %(reason)s"), { reason }),
    archive: gettext("Archive"),
    restore: gettext("Restore"),
    // Day headings in a chat.
    today: gettext("Today"),
    yesterday: gettext("Yesterday"),
    // Desktop notifications.
    notificationsOff: gettext("Turn on desktop notifications"),
    notificationsOn: gettext("Desktop notifications on"),
    notificationsBlocked: gettext("Notifications are blocked in your browser settings"),
    soundOn: gettext("Sound on"),
    soundOff: gettext("Sound off"),
    // Translators: the title of a desktop notification; person is a name or an email address.
    newMessageFrom: (person) => interpolate(gettext("New message from %(person)s"), { person }),
  };

  // --- Days and times, in the reader's language and time zone ------------------------------------

  const pad = (number) => String(number).padStart(2, "0");

  // The day of a moment in the browser's time zone, "2026-01-29": what a chat's messages are
  // grouped by (the server's pages group them by its own days, in UTC).
  function dayKey(moment) {
    const at = new Date(moment);
    return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
  }

  // A day's heading: "Today", "Yesterday", else Intl's long date ("Thursday, January 29"), with
  // its year when that is not this one.
  function dayLabel(key) {
    const now = new Date();
    if (key === dayKey(now)) return TEXTS.today;
    if (key === dayKey(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1))) {
      return TEXTS.yesterday;
    }
    const [year, month, date] = key.split("-").map(Number);
    const noon = new Date(year, month - 1, date, 12);
    if (year === now.getFullYear()) return D.day(noon);
    return new Intl.DateTimeFormat(D.i18n.language, {
      weekday: "long",
      year: "numeric",
      month: "long",
      day: "numeric",
    }).format(noon);
  }

  // --- Connection state, shown on both pages -----------------------------------------------------

  // The topbar's indicator and the banner under it. Before the first connection the state is
  // "connecting"; any later trouble is spelled out in the banner, never silent.
  function connectionView() {
    const pill = $("[data-connection]");
    const label = $("[data-connection-label]");
    const banner = $("[data-banner]");
    let first = true;
    pill.hidden = false;

    function show(state, message) {
      pill.setAttribute("data-state", state);
      D.text(label, TEXTS.states[state]);
      D.text(banner, message || "");
      banner.hidden = !message;
    }

    return {
      state(state) {
        // DeskLive reports "reconnecting" once before its very first attempt.
        const shown = first && state === "reconnecting" ? "connecting" : state;
        first = false;
        show(shown, TEXTS.banners[shown]);
      },
      refused(code) {
        show("offline", TEXTS.refusals[code] || TEXTS.banners.offline);
        if (code === 4401) {
          const signIn = document.createElement("a");
          const here = location.pathname + location.search;
          signIn.href = "/accounts/login/?next=" + encodeURIComponent(here);
          D.text(signIn, TEXTS.signIn);
          banner.appendChild(document.createTextNode(" "));
          banner.appendChild(signIn);
        }
      },
      // A REST call failed while the socket may be fine: said in the banner, state unchanged.
      notice(message) {
        D.text(banner, message);
        banner.hidden = false;
      },
    };
  }

  function errorText(error) {
    if (!error || error.status === 0) return TEXTS.noConnection;
    const body = error.body || {};
    if (error.status === 422 && body.detail && body.detail[0]) return body.detail[0].msg;
    if (typeof body.detail === "string") return body.detail;
    return TEXTS.failed(error.status);
  }

  // --- The dashboard's language: the topbar's switcher, on both pages ----------------------------

  // Django's set_language form (base.html), sent as soon as another language is chosen; its button
  // is for a page without this script. The choice is a cookie, which the pages, REST and the
  // sockets all read.
  function languageSwitcher(form) {
    $("[data-language-submit]", form).hidden = true;
    $("[data-language-select]", form).addEventListener("change", () => form.requestSubmit());
  }

  // --- Unread chats in the tab's title, on both pages --------------------------------------------

  // Changes come in bursts (a message, then its chat viewed): one question for the burst.
  const UNREAD_DELAY = 500;

  // "(3) Support Chats · desk": how many active chats have a user message newer than the last time
  // an admin opened them (GET /api/admin/unread), asked once now and again UNREAD_DELAY after
  // anything that may change it (`soon()`), never twice at once.
  function unreadTitle() {
    const title = document.title;
    let timer = null;
    let asking = false;
    let askAgain = false;

    function ask() {
      timer = null;
      if (asking) {
        askAgain = true;
        return;
      }
      asking = true;
      D.api("GET", "/api/admin/unread")
        .then(
          (answer) => {
            const count = answer.unread_chats;
            document.title = count > 0 ? `(${D.number(count)}) ${title}` : title;
          },
          // The title keeps the last count it had; the next change asks again.
          () => {}
        )
        .then(() => {
          asking = false;
          if (askAgain) {
            askAgain = false;
            soon();
          }
        });
    }

    function soon() {
      clearTimeout(timer);
      timer = setTimeout(ask, UNREAD_DELAY);
    }

    ask();
    return { soon };
  }

  // --- Desktop notifications and their sound, on both pages --------------------------------------

  const SOUND_KEY = "desk.dashboard.sound";
  const CHIME_SECONDS = 0.35;

  // The topbar's control: "Turn on desktop notifications" while the browser has not asked, then
  // "Desktop notifications on" with "Sound on/off" (kept in localStorage), or why there will be
  // none. `notify()` shows a new user message while the tab is hidden: one notification per chat
  // (its tag), a click opens the chat. The sound is a short tone of the Web Audio API; browsers let
  // a page play only after a click, so the audio starts with the click that turns notifications
  // on, or with the first click or key on a page where they already were.
  function desktopAlerts() {
    const box = $("[data-notify]");
    if (!("Notification" in window)) return { notify() {} };
    let audio = null;
    let soundOn = soundSetting();
    const shown = {}; // chat id -> the notification shown for it while the tab is hidden

    function soundSetting() {
      try {
        return localStorage.getItem(SOUND_KEY) !== "off";
      } catch (e) {
        return true; // storage refused (a privacy setting): sound on, not remembered
      }
    }

    function rememberSound(on) {
      try {
        localStorage.setItem(SOUND_KEY, on ? "on" : "off");
      } catch (e) {
        // Not remembered: it holds for this page.
      }
    }

    function startAudio() {
      if (!window.AudioContext) return;
      if (!audio) audio = new AudioContext();
      if (audio.state === "suspended") audio.resume();
    }

    function chime() {
      if (!soundOn || !audio || audio.state !== "running") return;
      const start = audio.currentTime;
      const volume = audio.createGain();
      volume.gain.setValueAtTime(0.0001, start);
      volume.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      volume.gain.exponentialRampToValueAtTime(0.0001, start + CHIME_SECONDS);
      volume.connect(audio.destination);
      const tone = audio.createOscillator();
      tone.frequency.setValueAtTime(880, start);
      tone.frequency.setValueAtTime(1320, start + CHIME_SECONDS / 3);
      tone.connect(volume);
      tone.start(start);
      tone.stop(start + CHIME_SECONDS);
    }

    function note(value) {
      const span = document.createElement("span");
      span.className = "notify-state";
      span.tabIndex = -1; // where the keyboard's place goes when it replaces the button
      return D.text(span, value);
    }

    function button(value, onClick) {
      const control = document.createElement("button");
      control.type = "button";
      control.className = "link-button";
      control.addEventListener("click", onClick);
      return D.text(control, value);
    }

    function soundButton() {
      const control = button(soundOn ? TEXTS.soundOn : TEXTS.soundOff, () => {
        soundOn = !soundOn;
        rememberSound(soundOn);
        if (soundOn) startAudio();
        D.text(control, soundOn ? TEXTS.soundOn : TEXTS.soundOff);
      });
      return control;
    }

    function show(permission) {
      box.replaceChildren();
      box.setAttribute("data-permission", permission);
      if (permission === "granted") {
        box.append(note(TEXTS.notificationsOn), soundButton());
      } else if (permission === "denied") {
        box.append(note(TEXTS.notificationsBlocked));
      } else {
        box.append(
          button(TEXTS.notificationsOff, () => {
            startAudio(); // within the click: the browser lets it play
            Promise.resolve(Notification.requestPermission()).then((answer) => {
              show(answer);
              // The button clicked is gone: keep the keyboard's place in the topbar.
              (box.querySelector("button") || box.querySelector(".notify-state")).focus();
            });
          })
        );
      }
      box.hidden = false;
    }

    function notify({ tag, person, body, url }) {
      if (Notification.permission !== "granted" || !isHidden()) return;
      let notification;
      try {
        notification = new Notification(TEXTS.newMessageFrom(person), { body, tag });
      } catch (e) {
        return; // a browser that shows them from a service worker only (Chrome on Android)
      }
      // The same chat again replaces its notification (the tag), with one tone for the first.
      if (!shown[tag]) chime();
      shown[tag] = notification;
      notification.onclick = () => {
        window.focus();
        notification.close();
        if (url) location.assign(url);
      };
    }

    // Back on the page: what the notifications said is in view.
    document.addEventListener("visibilitychange", () => {
      if (isHidden()) return;
      for (const tag of Object.keys(shown)) {
        shown[tag].close();
        delete shown[tag];
      }
    });
    if (Notification.permission === "granted") {
      addEventListener("pointerdown", startAudio, { once: true });
      addEventListener("keydown", startAudio, { once: true });
    }
    show(Notification.permission);
    return { notify };
  }

  // A new message as a line of text: as the server cuts the list's previews (characters, not
  // UTF-16 units), a message of files alone as its first file (chats.selectors).
  function previewOf(message, length) {
    const files = message.attachments || [];
    const text = message.content || (files.length ? ATTACHMENT_PREVIEW_PREFIX + files[0].name : "");
    return Array.from(text).slice(0, length).join("");
  }

  // --- The list ----------------------------------------------------------------------------------

  // Feed events after which the number of unread chats may differ.
  const UNREAD_EVENTS = [
    "new_user_message",
    "chat_viewed",
    "chat_archived",
    "chat_unarchived",
    "chat_merged",
  ];

  function listPage(list, alerts, unread) {
    const archivedTab = list.getAttribute("data-archived") === "true";
    const search = (list.getAttribute("data-q") || "").toLowerCase();
    const previewLength = Number(list.getAttribute("data-preview-length"));
    const detailUrl = list.getAttribute("data-detail-url");
    const empty = $("[data-empty]");
    const loadMore = $("[data-load-more]");
    const connection = connectionView();
    let refreshTimer = null;
    let opened = false;
    let eventCount = 0;
    const lastEventFor = {};
    // A page reached through a "Load more" link without JavaScript starts deep in the list:
    // fetching "the first page" again would replace it with something else.
    const deep = new URLSearchParams(location.search).has("cursor");

    const cardOf = (chatId) => list.querySelector(`.chat-card[data-chat-id="${chatId}"]`);
    const chatUrlOf = (chatId) => detailUrl.split("?")[0].replace(ZERO_ID, chatId);
    const cards = () => list.querySelectorAll(".chat-card");
    const hasMorePages = () => !loadMore.hidden;
    // The server's search (selectors.chat_search): the user's email, a contact's name, email or
    // host id. A card made from a message event knows the user's email only: the refresh that
    // follows brings the rest.
    const matchesSearch = (item) =>
      !search ||
      [item.user_email].concat(personTexts(item.contact)).some((text) =>
        String(text || "").toLowerCase().includes(search)
      );
    const personTexts = (contact) =>
      contact ? [contact.name, contact.email, contact.external_id] : [];

    // Who, as _chat_card.html shows it: a desk user by email; a contact (the embedded widget) by
    // name, the email they gave (marked while unconfirmed), the host's id, and guests marked.
    function setPerson(card, item) {
      const contact = item.contact || null;
      card.setAttribute("data-email", item.user_email || "");
      field(card, "guest").hidden = !contact || contact.kind !== "guest";
      const name = field(card, "name");
      D.text(name, contact ? contact.name || TEXTS.anonymous : "");
      name.hidden = !contact || (Boolean(contact.email) && !contact.name);
      D.text(field(card, "email"), contact ? contact.email : item.user_email);
      field(card, "unconfirmed").hidden = !contact || !contact.email || contact.email_confirmed;
      D.text(field(card, "external-id-value"), (contact && contact.external_id) || "");
      field(card, "external-id").hidden = !contact || !contact.external_id;
    }

    function setUnread(card, isUnread) {
      card.setAttribute("data-unread", isUnread ? "true" : "false");
      D.text(field(card, "unread-label"), isUnread ? TEXTS.unread : "");
    }

    // Whether each chat's person has it open, as last heard (list rows, `presence` events): a card
    // drawn again from an event's row, which does not know (null), shows what was heard.
    const online = {};
    for (const card of cards()) {
      online[card.getAttribute("data-chat-id")] = card.getAttribute("data-online") === "true";
    }

    // Online: a dot (and "Online" for screen readers); offline: nothing.
    function setOnline(card, isOnline) {
      card.setAttribute("data-online", isOnline ? "true" : "false");
      field(card, "presence").hidden = !isOnline;
    }

    function setCount(card, count) {
      card.setAttribute("data-count", count == null ? "" : String(count));
      // No count yet (a card made from an event) or no messages: the time alone says enough.
      D.text(field(card, "count"), count ? TEXTS.messages(count) : "");
    }

    function setActivity(card, lastMessageAt, createdAt) {
      card.setAttribute("data-last-message-at", lastMessageAt || "");
      const time = field(card, "time");
      const iso = lastMessageAt || createdAt;
      time.setAttribute("datetime", iso);
      time.setAttribute("data-relative-time", iso);
      D.text(time, D.relative(iso));
    }

    function setPreview(card, sender, preview) {
      D.text(field(card, "sender"), sender === "admin" ? TEXTS.supportSaid : "");
      D.text(field(card, "preview"), preview == null ? TEXTS.noMessages : preview);
    }

    // A card from a list item of GET /api/admin/chats (or an event's `chat`).
    function cardFor(item) {
      const card = fromTemplate("chat-card-template");
      card.setAttribute("data-chat-id", item.id);
      field(card, "link").href = detailUrl.replace(ZERO_ID, item.id);
      setPerson(card, item);
      setUnread(card, item.unread);
      if (item.user_online != null) online[item.id] = item.user_online;
      setOnline(card, online[item.id] === true);
      setCount(card, item.message_count);
      setActivity(card, item.last_message_at, item.created_at);
      setPreview(card, item.last_message_sender, item.last_message_preview);
      return card;
    }

    // Newest activity first, chats without messages last, then by id: the server's order.
    function before(a, b) {
      const at = stamp(a.getAttribute("data-last-message-at"));
      const bt = stamp(b.getAttribute("data-last-message-at"));
      if (at !== bt) return at > bt;
      return a.getAttribute("data-chat-id") > b.getAttribute("data-chat-id");
    }

    // Puts the card where it sorts among the loaded ones. A card new to the page that sorts after
    // all of them while more pages wait is left for "Load more" to bring.
    function place(card, wasShown) {
      if (card.parentNode) card.parentNode.removeChild(card);
      for (const other of cards()) {
        if (before(card, other)) {
          list.insertBefore(card, other);
          return updated();
        }
      }
      if (wasShown || !hasMorePages()) list.appendChild(card);
      updated();
    }

    function upsert(item) {
      if (!matchesSearch(item)) return;
      const old = cardOf(item.id);
      if (old) old.parentNode.removeChild(old);
      place(cardFor(item), Boolean(old));
    }

    function remove(chatId) {
      const card = cardOf(chatId);
      if (card) card.parentNode.removeChild(card);
      updated();
    }

    function updated() {
      empty.hidden = cards().length > 0;
    }

    function setCursor(cursor) {
      loadMore.hidden = !cursor;
      loadMore.setAttribute("data-cursor", cursor || "");
      // The link still works without this script (and opened in a new tab).
      if (cursor) loadMore.href = location.pathname + query(archivedTab ? "1" : "", cursor);
    }

    function query(archived, cursor) {
      const params = new URLSearchParams();
      if (archived) params.set("archived", archived);
      if (search) params.set("q", list.getAttribute("data-q"));
      if (cursor) params.set("cursor", cursor);
      const text = params.toString();
      return text ? "?" + text : "";
    }

    const fetchPage = (cursor) =>
      D.api("GET", "/api/admin/chats" + query(archivedTab ? "true" : "false", cursor));

    // Reconnected after a gap: the first page as the server has it now replaces what we show.
    function reloadFirstPage() {
      const since = eventCount;
      return fetchPage(null).then((page) => {
        const shown = {};
        for (const card of cards()) {
          shown[card.getAttribute("data-chat-id")] = card;
          list.removeChild(card);
        }
        setCursor(page.next_cursor);
        for (const item of page.items) {
          const current = shown[item.id];
          list.appendChild(current && !freshFromServer(item, since) ? current : cardFor(item));
        }
        updated();
      }, showLoadError);
    }

    // Something changed that the event cannot tell all of (a chat not on the page): bring the
    // first page's cards up to date without dropping the pages loaded after it.
    function refreshSoon() {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => {
        const since = eventCount;
        fetchPage(null).then((page) => {
          for (const item of page.items) {
            if (freshFromServer(item, since)) upsert(item);
          }
        }, showLoadError);
      }, 250);
    }

    // Whether a chat fetched by a request started after `since` events may replace its card: not
    // when an event about it arrived meanwhile, since the server may have read it before that.
    const freshFromServer = (item, since) => (lastEventFor[item.id] || 0) <= since;

    function showLoadError(error) {
      connection.notice(TEXTS.listNotLoaded(errorText(error)));
    }

    function onMessage(event, sender) {
      const message = event.message;
      const card = cardOf(event.chat_id);
      if (!card) {
        if (sender === "user" && !archivedTab && matchesSearch(event)) {
          // Shown at once from the event; its message count and contact come with the refresh.
          upsert({
            id: event.chat_id,
            user_email: event.user_email,
            last_message_at: message.created_at,
            last_message_preview: previewOf(message, previewLength),
            last_message_sender: sender,
            message_count: null,
            unread: true,
            created_at: message.created_at,
          });
        }
        refreshSoon();
        return;
      }
      const count = card.getAttribute("data-count");
      // A card the server wrote after this message was stored (a refresh that overtook the
      // event) counts it already. A chat's messages have increasing times: a later one on the
      // card, or this very one (same time, to the microsecond the text keeps), means counted.
      const shown = card.getAttribute("data-last-message-at");
      const counted =
        stamp(shown) > stamp(message.created_at) || shown === message.created_at;
      if (count && !counted) setCount(card, Number(count) + 1);
      setPreview(card, sender, previewOf(message, previewLength));
      setActivity(card, message.created_at, message.created_at);
      if (sender === "user") setUnread(card, true);
      place(card, true);
    }

    // Whom a notification names: as the chat's card does, else the event's email.
    function personOf(event) {
      const card = cardOf(event.chat_id);
      if (!card) return event.user_email || TEXTS.anonymous;
      const name = field(card, "name");
      return (name.hidden ? field(card, "email") : name).textContent;
    }

    function onEvent(event) {
      // A page fetched while this event was on its way may predate it: see freshFromServer.
      eventCount += 1;
      if (event.chat_id) lastEventFor[event.chat_id] = eventCount;
      if (UNREAD_EVENTS.includes(event.type)) unread.soon();
      switch (event.type) {
        case "new_user_message":
          alerts.notify({
            tag: event.chat_id,
            person: personOf(event),
            body: previewOf(event.message, previewLength),
            url: chatUrlOf(event.chat_id),
          });
          // A user message reopens an archived chat: it leaves the Archived tab (chat_unarchived
          // follows, with the row for the Active tab).
          if (archivedTab) return remove(event.chat_id);
          return onMessage(event, "user");
        case "new_admin_message":
          return onMessage(event, "admin");
        case "chat_viewed": {
          const card = cardOf(event.chat_id);
          if (card) setUnread(card, false);
          return;
        }
        case "presence": {
          online[event.chat_id] = event.online;
          const card = cardOf(event.chat_id);
          if (card) setOnline(card, event.online);
          return;
        }
        case "chat_archived":
          return archivedTab ? upsert(event.chat) : remove(event.chat_id);
        case "chat_unarchived":
          return archivedTab ? remove(event.chat_id) : upsert(event.chat);
        case "chat_merged":
          // A guest's chat joined the chat of the person they signed in as: one card, theirs.
          lastEventFor[event.merged_chat_id] = eventCount;
          remove(event.merged_chat_id);
          return event.chat.archived === archivedTab ? upsert(event.chat) : remove(event.chat_id);
      }
    }

    loadMore.addEventListener("click", (click) => {
      click.preventDefault();
      if (loadMore.getAttribute("aria-busy") === "true") return;
      loadMore.setAttribute("aria-busy", "true");
      D.text(loadMore, TEXTS.loading);
      fetchPage(loadMore.getAttribute("data-cursor"))
        .then((page) => {
          setCursor(page.next_cursor);
          for (const item of page.items) {
            // A chat that moved up live while this page waited is already shown.
            if (!cardOf(item.id)) list.appendChild(cardFor(item));
          }
          updated();
        }, showLoadError)
        .then(() => {
          loadMore.removeAttribute("aria-busy");
          D.text(loadMore, TEXTS.loadMore);
        });
    });

    const guestLink = $("[data-guest-link]");
    if (guestLink) guestLinkPanel(guestLink, chatUrlOf);
    staffAlerts($("[data-staff-alerts]"));

    // The server wrote each card's count: again here, in the reader's numbers and plural forms.
    for (const card of cards()) {
      const count = card.getAttribute("data-count");
      if (count) setCount(card, Number(count));
    }
    D.keepRelativeTimes(list);
    D.socket({
      path: "/ws/admin/notifications/",
      onEvent,
      onState: connection.state,
      onRefused: connection.refused,
      onOpen() {
        // Events sent between the page's rendering and this moment, or during a gap, were missed.
        unread.soon();
        if (deep) return;
        if (opened) reloadFirstPage();
        else refreshSoon();
        opened = true;
      },
    });
  }

  // --- The staff member's alert emails (on the list page) ----------------------------------------

  // The choice the server rendered (disabled: it cannot be changed without this script), saved
  // over REST as soon as it changes. A refused change puts the saved choice back.
  function staffAlerts(panel) {
    const select = $("select", panel);
    const status = $("[data-staff-alerts-status]", panel);
    let saved = select.value;
    let latest = 0;
    select.disabled = false;
    D.text(status, "");

    select.addEventListener("change", () => {
      const request = ++latest;
      status.removeAttribute("data-error");
      D.text(status, TEXTS.saving);
      D.api("PUT", "/api/admin/staff_alerts", { scope: select.value }).then(
        (answer) => {
          saved = answer.scope;
          if (request !== latest) return; // a later change is on its way
          select.value = saved;
          D.text(status, TEXTS.saved);
        },
        (error) => {
          if (request !== latest) return;
          select.value = saved;
          status.setAttribute("data-error", "true");
          D.text(status, errorText(error));
        }
      );
    });
  }

  // --- Starting a chat with a guest (on the list page) -------------------------------------------

  // The form posts to POST /api/admin/guest_links instead of reloading the page; the answer is
  // shown as the server renders it without this script: the link to copy and the new chat.
  function guestLinkPanel(panel, chatUrlOf) {
    const form = $("[data-guest-link-form]", panel);
    const submit = $("[data-guest-link-submit]", panel);
    const errorBox = $("[data-guest-link-error]", panel);
    const result = $("[data-guest-link-result]", panel);
    const url = $("[data-guest-link-url]", panel);
    const copy = $("[data-guest-link-copy]", panel);
    const expiry = $("[data-guest-link-expiry]", panel);
    const inputs = { name: form.elements.name, email: form.elements.email };

    // Until when the link works, in the reader's language and time zone.
    function showExpiry(iso) {
      expiry.setAttribute("data-expires-at", iso);
      D.text(expiry, TEXTS.worksUntil(D.dateTime(iso)));
    }
    // A link the server showed (the form sent without this script) says it in the server's zone.
    if (expiry.getAttribute("data-expires-at")) showExpiry(expiry.getAttribute("data-expires-at"));

    function showError(fieldName, message) {
      for (const name of Object.keys(inputs)) {
        if (name === fieldName) {
          inputs[name].setAttribute("aria-invalid", "true");
          inputs[name].setAttribute("aria-describedby", errorBox.id);
        } else {
          inputs[name].removeAttribute("aria-invalid");
          inputs[name].removeAttribute("aria-describedby");
        }
      }
      D.text(errorBox, message || "");
      errorBox.hidden = !message;
      if (inputs[fieldName]) inputs[fieldName].focus();
    }

    // The field a 422 names: the last part of its `loc`, whoever found the fault.
    function fieldOf(error) {
      const detail = error.status === 422 && error.body && error.body.detail;
      return Array.isArray(detail) && detail[0] ? detail[0].loc[detail[0].loc.length - 1] : null;
    }

    form.addEventListener("submit", (submitted) => {
      submitted.preventDefault();
      if (submit.disabled) return;
      submit.disabled = true;
      showError(null, "");
      const body = {
        name: inputs.name.value,
        email: inputs.email.value.trim() || null,
        send_email: form.elements.send_email.checked,
      };
      D.api("POST", "/api/admin/guest_links", body)
        .then(
          (link) => {
            url.value = link.url;
            showExpiry(link.expires_at);
            $("[data-guest-link-chat]", panel).href = chatUrlOf(link.chat_id);
            result.hidden = false;
            inputs.name.value = "";
            inputs.email.value = "";
            form.elements.send_email.checked = false;
            url.focus();
            url.select();
          },
          (error) => showError(fieldOf(error), errorText(error))
        )
        .then(() => {
          submit.disabled = false;
        });
    });

    if (navigator.clipboard) {
      copy.hidden = false;
      copy.addEventListener("click", () => {
        navigator.clipboard.writeText(url.value).then(
          () => {
            D.text(copy, TEXTS.copied);
            setTimeout(() => D.text(copy, TEXTS.copy), 2000);
          },
          () => url.select()
        );
      });
    }
  }

  // --- One chat ----------------------------------------------------------------------------------

  function chatPage(config, alerts, unread) {
    const chatUrl = "/api/admin/chats/" + config.chatId;
    const thread = document.getElementById("thread");
    const days = $("[data-days]");
    const typing = $("[data-typing]");
    const errorBox = $("[data-composer-error]");
    const form = $("[data-composer]");
    const textarea = $("[data-reply]");
    const loadEarlier = $("[data-load-earlier]");
    const connection = connectionView();
    const seen = {};
    let newest = null; // {id, at} of the newest message shown
    let oldestId = config.firstMessageId;
    let typingTimer = null;
    let pollTimer = null;
    let connected = false;
    let opened = false;
    let stopped = false;
    const pending = {}; // request_id -> {content, files} of a reply sent over the socket
    const fileViews = {}; // message id -> D.attachments() of its files
    // The larger view of an image, and fresh URLs for a file of this chat (those shown expire).
    const viewer = D.lightbox(document.body);
    const refreshFile = (id) => D.api("GET", `${chatUrl}/attachments/${encodeURIComponent(id)}`);
    const fileOptions = { viewer, refresh: refreshFile };
    let requests = 0;
    let typingOn = false;
    let typingLastSent = 0;
    let typingIdleTimer = null;
    // Something came while the tab was hidden that the admin has not been shown yet (a user
    // message, a reconnect's gap): caught up with when the tab is in view again.
    let behind = false;
    let socket;

    function remember(id, createdAt) {
      const at = stamp(createdAt);
      if (!newest || at >= newest.at) newest = { id, at };
    }

    for (const item of days.querySelectorAll(".message")) {
      const id = item.getAttribute("data-message-id");
      seen[id] = true;
      remember(id, item.querySelector("time").getAttribute("datetime"));
      // Drawn by the server (_message.html): its files open and renew as live ones do.
      const files = item.querySelector(".attachments");
      if (files) fileViews[id] = D.attachments.from(files, fileOptions);
    }

    const atBottom = () => thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
    const scrollToEnd = () => (thread.scrollTop = thread.scrollHeight);

    function setReadState(item, readAt) {
      const state = field(item, "read-state");
      D.text(state, readAt ? TEXTS.readAt(D.time(readAt)) : TEXTS.sent);
      if (readAt) {
        state.setAttribute("data-read", "true");
        state.setAttribute("data-read-at", readAt);
      }
    }

    function messageItem(message) {
      const item = fromTemplate("message-template");
      item.className = "message from-" + message.sender_type;
      item.setAttribute("data-message-id", message.id);
      // Formatted as the server renders it (chats/formatting.py, the same cases): the chat list's
      // previews stay plain text.
      const content = D.formatted(field(item, "content"), message.content);
      const files = message.attachments || [];
      // A message of files alone has no text bubble, as the server draws it.
      content.hidden = !message.content && files.length > 0;
      if (files.length) {
        const view = D.attachments(files, fileOptions);
        fileViews[message.id] = view;
        item.insertBefore(view.element, item.querySelector(".message-meta"));
      }
      // An admin's reply by the agent's name where names are on, else as support.
      const sender = message.sender_type === "admin" ? message.sender_name || TEXTS.support : null;
      D.text(field(item, "sender"), sender || config.userLabel);
      const time = field(item, "time");
      time.setAttribute("datetime", message.created_at);
      D.text(time, D.time(message.created_at));
      if (message.sender_type === "admin") setReadState(item, message.read_at);
      else D.text(field(item, "read-state"), "");
      return item;
    }

    // A day's section: `key` the reader's day ("2026-01-29", dayKey), headed "Today" or its date.
    function daySection(key, beforeSection) {
      const section = fromTemplate("day-template");
      section.setAttribute("data-day", key);
      D.text(section.querySelector("h2 span"), dayLabel(key));
      days.insertBefore(section, beforeSection || null);
      return section;
    }

    // "Today" is "Yesterday" after the reader's midnight.
    function relabelDays() {
      for (const section of days.querySelectorAll(".day")) {
        const heading = section.querySelector("h2 span");
        const label = dayLabel(section.getAttribute("data-day"));
        if (heading.textContent !== label) D.text(heading, label);
      }
    }

    // Puts a message's item in its place among those shown, by its time, under its day in the
    // reader's time zone; true if it went at the end. Messages usually arrive in order and go at
    // the end; a catch-up answer may bring older ones after newer live events, and "Load
    // earlier" brings older ones: each goes in its place.
    function place(item, createdAt) {
      const key = dayKey(createdAt);
      const at = stamp(createdAt);
      const all = days.querySelectorAll(".message");
      let next = null;
      for (let i = all.length - 1; i >= 0; i--) {
        if (stamp(field(all[i], "time").getAttribute("datetime")) <= at) break;
        next = all[i];
      }
      if (!next) {
        let section = days.lastElementChild;
        if (!section || section.getAttribute("data-day") !== key) section = daySection(key);
        section.querySelector("ol").appendChild(item);
      } else {
        const section = next.closest(".day");
        if (section.getAttribute("data-day") === key) {
          section.querySelector("ol").insertBefore(item, next);
        } else {
          let previous = section.previousElementSibling;
          if (!previous || previous.getAttribute("data-day") !== key) {
            previous = daySection(key, section);
          }
          previous.querySelector("ol").appendChild(item);
        }
      }
      return !next;
    }

    // The server drew the messages under its own days (UTC) with its times: drawn again under
    // the reader's days, with times and read receipts in the reader's language and time zone.
    function redrawServerMessages() {
      const drawn = Array.from(days.querySelectorAll(".message"));
      days.replaceChildren();
      for (const item of drawn) {
        const createdAt = field(item, "time").getAttribute("datetime");
        D.text(field(item, "time"), D.time(createdAt));
        if (item.classList.contains("from-admin")) {
          setReadState(item, field(item, "read-state").getAttribute("data-read-at"));
        }
        place(item, createdAt);
      }
    }

    function add(message) {
      if (seen[message.id]) return renewFiles(message);
      seen[message.id] = true;
      const follow = atBottom() || message.sender_type === "admin";
      const atEnd = place(messageItem(message), message.created_at);
      remember(message.id, message.created_at);
      const empty = $("[data-empty]", thread);
      if (empty) empty.hidden = true;
      if (message.sender_type === "user") showTyping(false);
      if (follow && atEnd) scrollToEnd();
    }

    // A message shown already, in a later payload: its files' URLs are that payload's, signed
    // later.
    function renewFiles(message) {
      const view = fileViews[message.id];
      if (view && message.attachments) view.update(message.attachments);
    }

    function showTyping(on) {
      clearTimeout(typingTimer);
      typing.hidden = !on;
      if (on) typingTimer = setTimeout(() => (typing.hidden = true), typingExpiry);
    }

    function markRead(ids, readAt) {
      for (const id of ids) {
        const item = days.querySelector(`.message[data-message-id="${id}"]`);
        if (item) setReadState(item, readAt);
      }
    }

    function showError(message) {
      D.text(errorBox, message || "");
      errorBox.hidden = !message;
    }

    // Whether the person has the chat open now, next to their name.
    const presence = $("[data-presence]");
    function setOnline(online) {
      presence.setAttribute("data-online", online ? "true" : "false");
      D.text($("[data-presence-label]", presence), online ? TEXTS.online : TEXTS.offline);
    }

    // --- catching up and polling

    function fetchAfter() {
      const query = newest ? "?after=" + encodeURIComponent(newest.id) : "";
      return D.api("GET", chatUrl + "/messages" + query).then((page) => {
        page.messages.forEach(add);
        return page.has_more;
      });
    }

    // What a gap may have missed besides messages (`sync` brings those): read receipts and the
    // person's presence, over REST. A page in view reads the chat, which records "viewed", as a
    // user message arriving in view does; a hidden page must not, so it reads the messages alone
    // and the chat once it is in view again.
    function reloadChat() {
      const inView = !isHidden();
      behind = !inView;
      return D.api("GET", inView ? chatUrl : chatUrl + "/messages").then((page) => {
        for (const message of page.messages) {
          if (message.read_at) markRead([message.id], message.read_at);
          renewFiles(message);
        }
        if (inView) setOnline(page.user_online);
      }, () => {
        behind = true; // tried again when the tab is next in view
      });
    }

    function poll() {
      clearTimeout(pollTimer);
      pollTimer = null;
      if (connected || stopped) return;
      fetchAfter().then(
        (more) => {
          pollTimer = setTimeout(poll, more ? 0 : pollInterval);
        },
        (error) => {
          // Refused for good (logged out, no longer staff, chat gone): polling cannot help.
          if ([401, 403, 404].includes(error.status)) return;
          pollTimer = setTimeout(poll, pollInterval);
        }
      );
    }

    function sync() {
      if (newest) socket.send({ action: "sync", after: newest.id, request_id: "sync" });
      else fetchAfter();
    }

    // A guest's chat joined the chat of the person they signed in as. On the guest's chat (gone
    // now): go to the person's. On the person's: the guest's messages, older ones included, are
    // part of it now; the newest page is read again and each message goes in its place.
    function onMerged(event) {
      if (event.merged_chat_id === config.chatId) {
        stopped = true;
        location.replace(location.pathname.replace(config.chatId, event.chat_id) + location.search);
        return;
      }
      D.api("GET", chatUrl + "/messages").then((page) => {
        const shownFrom = oldestStamp();
        page.messages.forEach(add);
        if (page.messages.length && stamp(page.messages[0].created_at) < shownFrom) {
          oldestId = page.messages[0].id;
          loadEarlier.hidden = !page.has_more;
        }
      }, showLoadError);
    }

    function oldestStamp() {
      const first = days.querySelector(".message time");
      return first ? stamp(first.getAttribute("datetime")) : Infinity;
    }

    function showLoadError(error) {
      connection.notice(TEXTS.mergedNotLoaded(errorText(error)));
    }

    // --- sending

    function send(content, attached) {
      showError("");
      typingSent(false);
      const requestId = "reply-" + ++requests;
      const ids = (attached || []).map((file) => file.id);
      const frame = { action: "send_message", content, request_id: requestId };
      if (ids.length) frame.attachment_ids = ids;
      if (socket.send(frame)) {
        pending[requestId] = { content, files: attached };
        return;
      }
      const body = ids.length ? { content, attachment_ids: ids } : { content };
      D.api("POST", chatUrl + "/messages", body).then(add, (error) => {
        restore({ content, files: attached });
        showError(TEXTS.notSent(errorText(error)));
      });
    }

    // A reply that was refused: its text back in the box (unless something new is typed there),
    // its files back among the uploads.
    function restore({ content, files }) {
      if (files && files.length) uploads.restore(files);
      if (content && !textarea.value.trim()) {
        textarea.value = content;
        textarea.dispatchEvent(new Event("input"));
      }
    }

    function typingSent(on) {
      clearTimeout(typingIdleTimer);
      if (on && (!typingOn || Date.now() - typingLastSent > typingRepeat)) {
        typingOn = socket.send({ action: "typing", is_typing: true });
        typingLastSent = Date.now();
      } else if (!on && typingOn) {
        socket.send({ action: "typing", is_typing: false });
        typingOn = false;
      }
      if (on) typingIdleTimer = setTimeout(typingSent, typingIdle, false);
    }

    function onEvent(event) {
      switch (event.type) {
        case "new_message":
          add(event.message);
          if (event.message.sender_type !== "user") return;
          unread.soon();
          // An admin is looking at it: it is not unread for the others.
          if (!isHidden()) return socket.send({ action: "viewed" });
          behind = true;
          return alerts.notify({
            tag: config.chatId,
            person: config.userLabel,
            body: previewOf(event.message, config.previewLength),
          });
        case "sync":
          event.messages.forEach(add);
          if (event.has_more) sync();
          return;
        case "typing":
          if (event.sender_type === "user") showTyping(event.is_typing);
          return;
        case "messages_read":
          return markRead(event.message_ids, event.read_at);
        case "chat_viewed":
          return unread.soon();
        case "chat_merged":
          return onMerged(event);
        case "error":
          if (event.request_id === "sync") return fetchAfter();
          if (pending[event.request_id] !== undefined) {
            restore(pending[event.request_id]);
            delete pending[event.request_id];
            showError(TEXTS.notSent(event.detail));
          }
          return;
      }
    }

    // --- archive / restore

    const archiveForm = $("[data-archive-form]");
    const archiveButton = $("[data-archive-button]");
    const archiveError = $("[data-archive-error]");
    let archived = config.archived;

    function setArchived(value) {
      archived = value;
      $("[data-archived-badge]").hidden = !value;
      D.text(archiveButton, value ? TEXTS.restore : TEXTS.archive);
      const action = archiveForm.getAttribute(value ? "data-unarchive-url" : "data-archive-url");
      archiveForm.action = action + location.search;
    }

    archiveForm.addEventListener("submit", (submit) => {
      submit.preventDefault();
      archiveButton.disabled = true;
      D.text(archiveError, "");
      archiveError.hidden = true;
      D.api("POST", chatUrl + (archived ? "/unarchive" : "/archive"))
        .then(
          (chat) => setArchived(chat.archived),
          (error) => {
            D.text(archiveError, errorText(error));
            archiveError.hidden = false;
          }
        )
        .then(() => {
          archiveButton.disabled = false;
        });
    });

    // --- older messages

    loadEarlier.addEventListener("click", () => {
      if (!oldestId) return;
      loadEarlier.disabled = true;
      const height = thread.scrollHeight;
      D.api("GET", chatUrl + "/messages?before=" + encodeURIComponent(oldestId)).then(
        (page) => {
          page.messages.forEach(add);
          if (page.messages.length) oldestId = page.messages[0].id;
          loadEarlier.hidden = !page.has_more;
          loadEarlier.disabled = false;
          thread.scrollTop += thread.scrollHeight - height; // keep the reader's place
        },
        (error) => {
          loadEarlier.disabled = false;
          showError(errorText(error));
        }
      );
    });

    // --- wiring

    redrawServerMessages();
    // Announced from now on: new messages, not the page's own redrawing (without this script the
    // page is not live, and has nothing to announce).
    days.setAttribute("aria-live", "polite");
    setInterval(relabelDays, 60000);

    form.addEventListener("submit", (submit) => {
      submit.preventDefault(); // the composer sends; the form's action is the no-JS fallback
    });
    // Files for the reply: the paperclip (shown now: uploads need this script), a paste into the
    // box, a drop onto the page.
    const attachButton = $("[data-attach]");
    attachButton.hidden = false;
    const uploads = D.attacher({
      list: $("[data-uploads]"),
      notice: $("[data-uploads-notice]"),
      button: attachButton,
      input: $("[data-attach-input]"),
      dropZone: $("main"),
      dropHint: $("[data-drop]"),
      pasteInto: textarea,
      start: (file, onProgress) => D.upload(chatUrl + "/attachments", file, { onProgress }),
    });
    D.composer(textarea, $("[data-send]"), send, uploads);
    textarea.addEventListener("input", () => {
      if (textarea.value.trim()) typingSent(true);
    });

    socket = D.socket({
      path: `/ws/support_chat/${config.chatId}/`,
      onEvent,
      onState(state) {
        connection.state(state);
        connected = state === "connected";
        if (!connected && !pollTimer) pollTimer = setTimeout(poll, pollInterval);
      },
      onRefused(code) {
        stopped = true;
        connection.refused(code);
      },
      onOpen() {
        clearTimeout(pollTimer);
        pollTimer = null;
        sync();
        unread.soon();
        if (opened) reloadChat();
        opened = true;
      },
    });
    document.addEventListener("visibilitychange", () => {
      if (isHidden()) return;
      unread.soon();
      if (behind) reloadChat();
    });
    scrollToEnd();
  }

  const switcher = $("[data-language-form]");
  if (switcher) languageSwitcher(switcher);
  const alerts = desktopAlerts();
  const unread = unreadTitle();
  const list = document.getElementById("chat-list");
  if (list) listPage(list, alerts, unread);
  const chat = document.getElementById("desk-chat");
  if (chat) chatPage(JSON.parse(chat.textContent), alerts, unread);
})();
