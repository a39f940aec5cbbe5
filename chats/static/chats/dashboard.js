/*
 * desk: the admins' dashboard, live. The pages are rendered by Django (chats/views.py) and work
 * without this script; it keeps them current over the websockets of docs/events.md, using
 * DeskLive from widget.js (loaded first, with data-desk-widget="off").
 *
 * - The list (/desk/) follows /ws/admin/notifications/: new messages move their chat to the top,
 *   viewed chats lose their unread dot, archived chats move between the tabs. After a reconnect the
 *   first page of the tab is fetched again over REST, so nothing missed during the gap stays stale.
 * - A chat (/desk/chats/<id>/) follows /ws/support_chat/<id>/: messages (de-duplicated by id,
 *   caught up with `sync`, polled over REST while the socket is down), the user's typing, and
 *   the read state of each reply.
 */
(function () {
  "use strict";

  var D = window.DeskLive;
  // Without the library the pages stay what the server rendered: links and forms that work.
  if (!D) return;

  var ZERO_ID = "00000000-0000-0000-0000-000000000000";
  var POLL_INTERVAL = 5000;
  var TYPING_EXPIRES = 10000; // docs/events.md: let a `true` expire after about ten seconds
  var TYPING_REPEAT = 3000;
  var TYPING_IDLE = 4000;

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function field(root, name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function fromTemplate(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  function stamp(iso) {
    return iso ? Date.parse(iso) : -Infinity;
  }

  // --- Connection state, shown on both pages -----------------------------------------------------

  var LABELS = {
    connecting: "Connecting…",
    connected: "Live",
    reconnecting: "Reconnecting…",
    offline: "Offline",
  };
  var BANNERS = {
    reconnecting: "Reconnecting… updates may be delayed.",
    offline: "Offline: live updates are paused. Still trying to reconnect.",
  };
  var REFUSALS = {
    4401: "Your session has ended: sign in again to see live updates.",
    4403: "You are no longer allowed to see this.",
    4404: "This chat no longer exists.",
  };

  // The topbar's indicator and the banner under it. Before the first connection the state is
  // "connecting"; any later trouble is spelled out in the banner, never silent.
  function connectionView() {
    var pill = $("[data-connection]");
    var label = $("[data-connection-label]");
    var banner = $("[data-banner]");
    var first = true;
    pill.hidden = false;

    function show(state, message) {
      pill.setAttribute("data-state", state);
      D.text(label, LABELS[state]);
      D.text(banner, message || "");
      banner.hidden = !message;
    }

    return {
      state: function (state) {
        // DeskLive reports "reconnecting" once before its very first attempt.
        var shown = first && state === "reconnecting" ? "connecting" : state;
        first = false;
        show(shown, BANNERS[shown]);
      },
      refused: function (code) {
        show("offline", REFUSALS[code] || BANNERS.offline);
        if (code === 4401) {
          var signIn = document.createElement("a");
          var here = location.pathname + location.search;
          signIn.href = "/accounts/login/?next=" + encodeURIComponent(here);
          D.text(signIn, "Sign in");
          banner.appendChild(document.createTextNode(" "));
          banner.appendChild(signIn);
        }
      },
      // A REST call failed while the socket may be fine: said in the banner, state unchanged.
      notice: function (message) {
        D.text(banner, message);
        banner.hidden = false;
      },
    };
  }

  function errorText(error) {
    if (!error || error.status === 0) return "No connection to the server. Try again.";
    var body = error.body || {};
    if (error.status === 422 && body.detail && body.detail[0]) return body.detail[0].msg;
    if (typeof body.detail === "string") return body.detail;
    return "Something went wrong (" + error.status + "). Try again.";
  }

  // --- The list ----------------------------------------------------------------------------------

  function listPage(list) {
    var archivedTab = list.getAttribute("data-archived") === "true";
    var search = (list.getAttribute("data-q") || "").toLowerCase();
    var previewLength = Number(list.getAttribute("data-preview-length"));
    var detailUrl = list.getAttribute("data-detail-url");
    var empty = $("[data-empty]");
    var loadMore = $("[data-load-more]");
    var connection = connectionView();
    var refreshTimer = null;
    var opened = false;
    var eventCount = 0;
    var lastEventFor = {};
    // A page reached through a "Load more" link without JavaScript starts deep in the list:
    // fetching "the first page" again would replace it with something else.
    var deep = new URLSearchParams(location.search).has("cursor");

    function cardOf(chatId) {
      return list.querySelector('.chat-card[data-chat-id="' + chatId + '"]');
    }

    function cards() {
      return list.querySelectorAll(".chat-card");
    }

    function hasMorePages() {
      return !loadMore.hidden;
    }

    function matchesSearch(email) {
      return !search || String(email).toLowerCase().indexOf(search) !== -1;
    }

    function setUnread(card, unread) {
      card.setAttribute("data-unread", unread ? "true" : "false");
      D.text(field(card, "unread-label"), unread ? "(unread)" : "");
    }

    function setCount(card, count) {
      card.setAttribute("data-count", count == null ? "" : String(count));
      // No count yet (a card made from an event) or no messages: the time alone says enough.
      D.text(field(card, "count"), count ? count + (count === 1 ? " message" : " messages") : "");
    }

    function setActivity(card, lastMessageAt, createdAt) {
      card.setAttribute("data-last-message-at", lastMessageAt || "");
      var time = field(card, "time");
      var iso = lastMessageAt || createdAt;
      time.setAttribute("datetime", iso);
      time.setAttribute("data-relative-time", iso);
      D.text(time, D.relative(iso));
    }

    function setPreview(card, sender, preview) {
      D.text(field(card, "sender"), sender === "admin" ? "Support: " : "");
      D.text(field(card, "preview"), preview == null ? "No messages yet" : preview);
    }

    function cut(content) {
      // As the server cuts it: characters, not UTF-16 units.
      return Array.from(content).slice(0, previewLength).join("");
    }

    // A card from a list item of GET /api/admin/chats (or an event's `chat`).
    function cardFor(item) {
      var card = fromTemplate("chat-card-template");
      card.setAttribute("data-chat-id", item.id);
      card.setAttribute("data-email", item.user_email);
      field(card, "link").href = detailUrl.replace(ZERO_ID, item.id);
      D.text(field(card, "email"), item.user_email);
      setUnread(card, item.unread);
      setCount(card, item.message_count);
      setActivity(card, item.last_message_at, item.created_at);
      setPreview(card, item.last_message_sender, item.last_message_preview);
      return card;
    }

    // Newest activity first, chats without messages last, then by id: the server's order.
    function before(a, b) {
      var at = stamp(a.getAttribute("data-last-message-at"));
      var bt = stamp(b.getAttribute("data-last-message-at"));
      if (at !== bt) return at > bt;
      return a.getAttribute("data-chat-id") > b.getAttribute("data-chat-id");
    }

    // Puts the card where it sorts among the loaded ones. A card new to the page that sorts after
    // all of them while more pages wait is left for "Load more" to bring.
    function place(card, wasShown) {
      if (card.parentNode) card.parentNode.removeChild(card);
      var all = cards();
      for (var i = 0; i < all.length; i++) {
        if (before(card, all[i])) {
          list.insertBefore(card, all[i]);
          return updated();
        }
      }
      if (wasShown || !hasMorePages()) list.appendChild(card);
      updated();
    }

    function upsert(item) {
      if (!matchesSearch(item.user_email)) return;
      var old = cardOf(item.id);
      if (old) old.parentNode.removeChild(old);
      place(cardFor(item), Boolean(old));
    }

    function remove(chatId) {
      var card = cardOf(chatId);
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
      var params = new URLSearchParams();
      if (archived) params.set("archived", archived);
      if (search) params.set("q", list.getAttribute("data-q"));
      if (cursor) params.set("cursor", cursor);
      var text = params.toString();
      return text ? "?" + text : "";
    }

    function fetchPage(cursor) {
      return D.api("GET", "/api/admin/chats" + query(archivedTab ? "true" : "false", cursor));
    }

    // Reconnected after a gap: the first page as the server has it now replaces what we show.
    function reloadFirstPage() {
      var since = eventCount;
      return fetchPage(null).then(function (page) {
        var all = cards();
        var shown = {};
        for (var i = 0; i < all.length; i++) {
          shown[all[i].getAttribute("data-chat-id")] = all[i];
          list.removeChild(all[i]);
        }
        setCursor(page.next_cursor);
        page.items.forEach(function (item) {
          var current = shown[item.id];
          list.appendChild(current && !freshFromServer(item, since) ? current : cardFor(item));
        });
        updated();
      }, showLoadError);
    }

    // Something changed that the event cannot tell all of (a chat not on the page): bring the
    // first page's cards up to date without dropping the pages loaded after it.
    function refreshSoon() {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(function () {
        var since = eventCount;
        fetchPage(null).then(function (page) {
          page.items.forEach(function (item) {
            if (freshFromServer(item, since)) upsert(item);
          });
        }, showLoadError);
      }, 250);
    }

    // Whether a chat fetched by a request started after `since` events may replace its card: not
    // when an event about it arrived meanwhile, since the server may have read it before that.
    function freshFromServer(item, since) {
      return (lastEventFor[item.id] || 0) <= since;
    }

    function showLoadError(error) {
      connection.notice("Could not load the latest chats: " + errorText(error));
    }

    function onMessage(event, sender) {
      var message = event.message;
      var card = cardOf(event.chat_id);
      if (!card) {
        if (sender === "user" && !archivedTab && matchesSearch(event.user_email)) {
          // Shown at once from the event; its message count comes with the refresh.
          upsert({
            id: event.chat_id,
            user_email: event.user_email,
            last_message_at: message.created_at,
            last_message_preview: cut(message.content),
            last_message_sender: sender,
            message_count: null,
            unread: true,
            created_at: message.created_at,
          });
        }
        refreshSoon();
        return;
      }
      var count = card.getAttribute("data-count");
      if (count) setCount(card, Number(count) + 1);
      setPreview(card, sender, cut(message.content));
      setActivity(card, message.created_at, message.created_at);
      if (sender === "user") setUnread(card, true);
      place(card, true);
    }

    function onEvent(event) {
      // A page fetched while this event was on its way may predate it: see freshFromServer.
      eventCount += 1;
      if (event.chat_id) lastEventFor[event.chat_id] = eventCount;
      switch (event.type) {
        case "new_user_message":
          // A user message reopens an archived chat: it leaves the Archived tab (chat_unarchived
          // follows, with the row for the Active tab).
          if (archivedTab) return remove(event.chat_id);
          return onMessage(event, "user");
        case "new_admin_message":
          return onMessage(event, "admin");
        case "chat_viewed": {
          var card = cardOf(event.chat_id);
          if (card) setUnread(card, false);
          return;
        }
        case "chat_archived":
          return archivedTab ? upsert(event.chat) : remove(event.chat_id);
        case "chat_unarchived":
          return archivedTab ? remove(event.chat_id) : upsert(event.chat);
      }
    }

    loadMore.addEventListener("click", function (click) {
      click.preventDefault();
      if (loadMore.getAttribute("aria-busy") === "true") return;
      loadMore.setAttribute("aria-busy", "true");
      D.text(loadMore, "Loading…");
      fetchPage(loadMore.getAttribute("data-cursor"))
        .then(function (page) {
          setCursor(page.next_cursor);
          page.items.forEach(function (item) {
            // A chat that moved up live while this page waited is already shown.
            if (!cardOf(item.id)) list.appendChild(cardFor(item));
          });
          updated();
        }, showLoadError)
        .then(function () {
          loadMore.removeAttribute("aria-busy");
          D.text(loadMore, "Load more");
        });
    });

    D.keepRelativeTimes(list);
    D.socket({
      path: "/ws/admin/notifications/",
      onEvent: onEvent,
      onState: connection.state,
      onRefused: connection.refused,
      onOpen: function () {
        // Events sent between the page's rendering and this moment, or during a gap, were missed.
        if (deep) return;
        if (opened) reloadFirstPage();
        else refreshSoon();
        opened = true;
      },
    });
  }

  // --- One chat ----------------------------------------------------------------------------------

  function chatPage(config) {
    var chatUrl = "/api/admin/chats/" + config.chatId;
    var thread = document.getElementById("thread");
    var days = $("[data-days]");
    var typing = $("[data-typing]");
    var errorBox = $("[data-composer-error]");
    var form = $("[data-composer]");
    var textarea = $("[data-reply]");
    var loadEarlier = $("[data-load-earlier]");
    var connection = connectionView();
    var seen = {};
    var newest = null; // {id, at} of the newest message shown
    var oldestId = config.firstMessageId;
    var typingTimer = null;
    var pollTimer = null;
    var connected = false;
    var opened = false;
    var stopped = false;
    var pending = {}; // request_id -> text of a reply sent over the socket
    var requests = 0;
    var socket;

    Array.prototype.forEach.call(days.querySelectorAll(".message"), function (item) {
      var id = item.getAttribute("data-message-id");
      seen[id] = true;
      remember(id, item.querySelector("time").getAttribute("datetime"));
    });

    function remember(id, createdAt) {
      var at = stamp(createdAt);
      if (!newest || at >= newest.at) newest = { id: id, at: at };
    }

    function atBottom() {
      return thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
    }

    function scrollToEnd() {
      thread.scrollTop = thread.scrollHeight;
    }

    function setReadState(item, readAt) {
      var state = field(item, "read-state");
      D.text(state, readAt ? "Read " + D.time(readAt) : "Sent");
      if (readAt) state.setAttribute("data-read", "true");
    }

    function messageItem(message) {
      var item = fromTemplate("message-template");
      item.className = "message from-" + message.sender_type;
      item.setAttribute("data-message-id", message.id);
      D.text(field(item, "content"), message.content);
      D.text(field(item, "sender"), message.sender_type === "admin" ? "Support" : config.userEmail);
      var time = field(item, "time");
      time.setAttribute("datetime", message.created_at);
      D.text(time, D.time(message.created_at));
      if (message.sender_type === "admin") setReadState(item, message.read_at);
      else D.text(field(item, "read-state"), "");
      return item;
    }

    function daySection(label, beforeSection) {
      var section = fromTemplate("day-template");
      section.setAttribute("data-day", label);
      D.text(section.querySelector("h2 span"), label);
      days.insertBefore(section, beforeSection || null);
      return section;
    }

    // Messages usually arrive in order and go at the end; a catch-up answer may bring older
    // ones after newer live events, and "Load earlier" brings older ones: each goes in its place.
    function add(message) {
      if (seen[message.id]) return;
      seen[message.id] = true;
      var follow = atBottom() || message.sender_type === "admin";
      var item = messageItem(message);
      var label = D.day(message.created_at);
      var at = stamp(message.created_at);
      var all = days.querySelectorAll(".message");
      var next = null;
      for (var i = all.length - 1; i >= 0; i--) {
        if (stamp(all[i].querySelector("time").getAttribute("datetime")) <= at) break;
        next = all[i];
      }
      var section;
      if (!next) {
        section = days.lastElementChild;
        if (!section || section.getAttribute("data-day") !== label) section = daySection(label);
        section.querySelector("ol").appendChild(item);
      } else {
        section = next.closest(".day");
        if (section.getAttribute("data-day") === label) {
          section.querySelector("ol").insertBefore(item, next);
        } else {
          var previous = section.previousElementSibling;
          if (!previous || previous.getAttribute("data-day") !== label) {
            previous = daySection(label, section);
          }
          previous.querySelector("ol").appendChild(item);
        }
      }
      remember(message.id, message.created_at);
      var empty = $("[data-empty]", thread);
      if (empty) empty.hidden = true;
      if (message.sender_type === "user") showTyping(false);
      if (follow && !next) scrollToEnd();
    }

    function showTyping(on) {
      clearTimeout(typingTimer);
      typing.hidden = !on;
      if (on) {
        typingTimer = setTimeout(function () {
          typing.hidden = true;
        }, TYPING_EXPIRES);
      }
    }

    function markRead(ids, readAt) {
      ids.forEach(function (id) {
        var item = days.querySelector('.message[data-message-id="' + id + '"]');
        if (item) setReadState(item, readAt);
      });
    }

    function showError(message) {
      D.text(errorBox, message || "");
      errorBox.hidden = !message;
    }

    // --- catching up and polling

    function fetchAfter() {
      var query = newest ? "?after=" + encodeURIComponent(newest.id) : "";
      return D.api("GET", chatUrl + "/messages" + query).then(function (page) {
        page.messages.forEach(add);
        return page.has_more;
      });
    }

    // Read receipts missed during a gap are reloaded over REST (`sync` brings only messages).
    // The messages endpoint, not the chat's: reading it again must not record another "viewed".
    function reloadReadState() {
      return D.api("GET", chatUrl + "/messages").then(function (page) {
        page.messages.forEach(function (message) {
          if (message.read_at) markRead([message.id], message.read_at);
        });
      });
    }

    function poll() {
      clearTimeout(pollTimer);
      pollTimer = null;
      if (connected || stopped) return;
      fetchAfter().then(
        function (more) {
          pollTimer = setTimeout(poll, more ? 0 : POLL_INTERVAL);
        },
        function (error) {
          // Refused for good (logged out, no longer staff, chat gone): polling cannot help.
          if ([401, 403, 404].indexOf(error.status) !== -1) return;
          pollTimer = setTimeout(poll, POLL_INTERVAL);
        }
      );
    }

    function sync() {
      if (newest) socket.send({ action: "sync", after: newest.id, request_id: "sync" });
      else fetchAfter();
    }

    // --- sending

    function send(content) {
      showError("");
      typingSent(false);
      var requestId = "reply-" + ++requests;
      if (socket.send({ action: "send_message", content: content, request_id: requestId })) {
        pending[requestId] = content;
        return;
      }
      D.api("POST", chatUrl + "/messages", { content: content }).then(add, function (error) {
        restore(content);
        showError("Not sent: " + errorText(error));
      });
    }

    function restore(content) {
      if (!textarea.value.trim()) {
        textarea.value = content;
        textarea.dispatchEvent(new Event("input"));
      }
    }

    var typingOn = false;
    var typingLastSent = 0;
    var typingIdle = null;

    function typingSent(on) {
      clearTimeout(typingIdle);
      if (on && (!typingOn || Date.now() - typingLastSent > TYPING_REPEAT)) {
        typingOn = socket.send({ action: "typing", is_typing: true });
        typingLastSent = Date.now();
      } else if (!on && typingOn) {
        socket.send({ action: "typing", is_typing: false });
        typingOn = false;
      }
      if (on) typingIdle = setTimeout(typingSent, TYPING_IDLE, false);
    }

    function onEvent(event) {
      switch (event.type) {
        case "new_message":
          add(event.message);
          // An admin is looking at it: it is not unread for the others.
          if (event.message.sender_type === "user" && document.visibilityState === "visible") {
            socket.send({ action: "viewed" });
          }
          return;
        case "sync":
          event.messages.forEach(add);
          if (event.has_more) sync();
          return;
        case "typing":
          if (event.sender_type === "user") showTyping(event.is_typing);
          return;
        case "messages_read":
          return markRead(event.message_ids, event.read_at);
        case "error":
          if (event.request_id === "sync") return fetchAfter();
          if (pending[event.request_id] !== undefined) {
            restore(pending[event.request_id]);
            delete pending[event.request_id];
            showError("Not sent: " + event.detail);
          }
          return;
      }
    }

    // --- archive / restore

    var archiveForm = $("[data-archive-form]");
    var archiveButton = $("[data-archive-button]");
    var archiveError = $("[data-archive-error]");
    var archived = config.archived;

    function setArchived(value) {
      archived = value;
      $("[data-archived-badge]").hidden = !value;
      D.text(archiveButton, value ? "Restore" : "Archive");
      var action = archiveForm.getAttribute(value ? "data-unarchive-url" : "data-archive-url");
      archiveForm.action = action + location.search;
    }

    archiveForm.addEventListener("submit", function (submit) {
      submit.preventDefault();
      archiveButton.disabled = true;
      D.text(archiveError, "");
      archiveError.hidden = true;
      D.api("POST", chatUrl + (archived ? "/unarchive" : "/archive"))
        .then(
          function (chat) {
            setArchived(chat.archived);
          },
          function (error) {
            D.text(archiveError, errorText(error));
            archiveError.hidden = false;
          }
        )
        .then(function () {
          archiveButton.disabled = false;
        });
    });

    // --- older messages

    loadEarlier.addEventListener("click", function () {
      if (!oldestId) return;
      loadEarlier.disabled = true;
      var height = thread.scrollHeight;
      D.api("GET", chatUrl + "/messages?before=" + encodeURIComponent(oldestId)).then(
        function (page) {
          page.messages.forEach(add);
          if (page.messages.length) oldestId = page.messages[0].id;
          loadEarlier.hidden = !page.has_more;
          loadEarlier.disabled = false;
          thread.scrollTop += thread.scrollHeight - height; // keep the reader's place
        },
        function (error) {
          loadEarlier.disabled = false;
          showError(errorText(error));
        }
      );
    });

    // --- wiring

    form.addEventListener("submit", function (submit) {
      submit.preventDefault(); // the composer sends; the form's action is the no-JS fallback
    });
    D.composer(textarea, $("[data-send]"), send);
    textarea.addEventListener("input", function () {
      if (textarea.value.trim()) typingSent(true);
    });

    socket = D.socket({
      path: "/ws/support_chat/" + config.chatId + "/",
      onEvent: onEvent,
      onState: function (state) {
        connection.state(state);
        connected = state === "connected";
        if (!connected && !pollTimer) pollTimer = setTimeout(poll, POLL_INTERVAL);
      },
      onRefused: function (code) {
        stopped = true;
        connection.refused(code);
      },
      onOpen: function () {
        clearTimeout(pollTimer);
        pollTimer = null;
        sync();
        if (opened) reloadReadState();
        opened = true;
      },
    });
    scrollToEnd();
  }

  var list = document.getElementById("chat-list");
  if (list) listPage(list);
  var chat = document.getElementById("desk-chat");
  if (chat) chatPage(JSON.parse(chat.textContent));
})();
