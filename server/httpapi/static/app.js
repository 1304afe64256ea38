// The chat page: sends questions to POST /chat/stream and renders the streamed answer,
// its [n] markers and its cited passages. Every server string is inserted as text
// (textContent / text nodes), never as HTML: the passages are untrusted data.
"use strict";

const KEY_STORAGE = "summit-assistant.api-key";
const HISTORY_LIMIT = 40; // most earlier messages sent; the server refuses long histories
const AUTO_RETRIES = 3; // automatic retries of a 503/429 that says when to come back
const AUTO_RETRY_MAX_WAIT_S = 30;
const READY_POLLS = 60;
const MARKER = /\[(\d+)\]/g;
const GENERIC_FAILURE = "Something went wrong while answering. Please try again.";

const $ = (id) => document.getElementById(id);
const ui = {
  conversation: $("conversation"),
  form: $("chat-form"),
  message: $("message"),
  send: $("send"),
  status: $("status"),
  storeInfo: $("store-info"),
  newChat: $("new-chat"),
  keyForm: $("key-form"),
  keyHelp: $("key-help"),
  keyInput: $("api-key"),
  keyCancel: $("key-cancel"),
};

/** Earlier messages of this conversation, as the API takes them. */
let history = [];
let busy = false;
let controller = null;
let turnCount = 0;
let keyWaiter = null;

/** A failure whose message is fit to show to the person using the page. */
class UserFacingError extends Error {}

// ---------------------------------------------------------------- small helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function setStatus(text, kind = "info") {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function nearBottom() {
  const root = document.documentElement;
  return window.innerHeight + window.scrollY >= root.scrollHeight - 120;
}

function keepBottom(wasNearBottom) {
  if (wasNearBottom) window.scrollTo({ top: document.documentElement.scrollHeight });
}

function calm() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// "Outlet (date), …" for the other outlets of a syndicated article, or "" when it has none.
function alsoIn(citation) {
  const names = (citation.also_in || []).map((copy) => {
    const name = copy.outlet || copy.source;
    return copy.published ? `${name} (${copy.published.slice(0, 10)})` : name;
  });
  return [...new Set(names)].join(", ");
}

function baseName(path) {
  const parts = String(path).split(/[\\/]/);
  return parts[parts.length - 1] || String(path);
}

// ---------------------------------------------------------------- API key

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

function storeKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage may be blocked; the key then lasts until the next 401.
  }
}

function authHeaders() {
  const key = storedKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** Shows the key form; resolves with the key entered, or null when cancelled. */
function askForKey(rejected) {
  ui.keyHelp.textContent = rejected
    ? "That API key was not accepted. Check it and enter it again; it is kept in this browser tab only."
    : "This server needs an API key. Enter it to continue; it is kept in this browser tab only.";
  ui.keyForm.hidden = false;
  ui.keyInput.value = "";
  ui.keyInput.focus();
  setStatus(rejected ? "The API key was not accepted." : "An API key is needed.", "error");
  return new Promise((resolve) => {
    keyWaiter = resolve;
  });
}

function closeKeyForm(key) {
  ui.keyForm.hidden = true;
  const waiter = keyWaiter;
  keyWaiter = null;
  if (waiter) waiter(key);
}

ui.keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = ui.keyInput.value.trim();
  if (!key) {
    setStatus("Enter the API key, or choose Cancel.", "error");
    ui.keyInput.focus();
    return;
  }
  storeKey(key);
  ui.keyInput.value = "";
  setStatus("Key saved; sending your question again…");
  closeKeyForm(key);
  ui.message.focus();
});

ui.keyCancel.addEventListener("click", () => {
  closeKeyForm(null);
  ui.message.focus();
});

ui.keyForm.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    closeKeyForm(null);
    ui.message.focus();
  }
});

// ---------------------------------------------------------------- rendering turns

function addUserTurn(text) {
  const turn = el(
    "article",
    { class: "turn user" },
    el("h3", { class: "visually-hidden" }, "You asked"),
    el("p", { class: "user-text" }, text),
  );
  ui.conversation.append(turn);
  return turn;
}

/** One assistant answer: its streamed text, its footnotes and its state. */
class AssistantTurn {
  constructor() {
    this.id = ++turnCount;
    this.text = "";
    this.shortAnswer = "";
    this.citations = new Map();
    this.node = el("article", {
      class: "turn assistant",
      "aria-busy": "true",
      "data-state": "waiting",
    });
    this.waiting = el("p", { class: "waiting" }, "Looking through the documents…");
    this.answer = el("p", { class: "answer-text" });
    this.error = el("p", { class: "turn-error", hidden: true });
    this.checks = el("div", { class: "answer-checks", hidden: true });
    this.label = el("h4", { class: "sources-label", id: `turn-${this.id}-sources` }, "Passages");
    this.list = el("ol", { class: "citations", "aria-labelledby": `turn-${this.id}-sources` });
    this.sources = el("section", { class: "sources", hidden: true }, this.label, this.list);
    this.node.append(
      el("h3", { class: "visually-hidden" }, "Assistant"),
      this.waiting,
      this.answer,
      this.checks,
      this.error,
      this.sources,
    );
    ui.conversation.append(this.node);
  }

  setWaiting(text) {
    this.waiting.hidden = false;
    this.waiting.textContent = text;
  }

  setCitations(citations) {
    this.citations.clear();
    this.list.replaceChildren();
    for (const citation of citations) {
      this.citations.set(Number(citation.n), citation);
      this.list.append(el("li", {}, this.renderCitation(citation)));
    }
    this.sources.hidden = citations.length === 0;
    this.renderText();
  }

  appendText(piece) {
    this.waiting.hidden = true;
    this.node.dataset.state = "streaming";
    this.text += piece;
    this.renderText();
  }

  finish(answer) {
    // The finished answer is the checked one: its text and citations replace what streamed.
    this.text = answer.answer;
    this.shortAnswer = typeof answer.short_answer === "string" ? answer.short_answer : "";
    this.setCitations(Array.isArray(answer.citations) ? answer.citations : []);
    this.renderChecks(answer);
    this.waiting.hidden = true;
    this.label.textContent = answer.answered ? "Sources" : "Closest passages";
    this.node.classList.toggle("not-answered", !answer.answered);
    this.node.dataset.answered = String(Boolean(answer.answered));
    this.node.dataset.state = answer.answered ? "answered" : "not-answered";
    this.close();
  }

  /** Why the answer differs from what the model wrote: a notice, and the removed sentences. */
  renderChecks(answer) {
    const parts = [];
    if (typeof answer.notice === "string" && answer.notice) {
      parts.push(el("p", { class: "answer-notice" }, answer.notice));
    }
    const dropped = Array.isArray(answer.dropped) ? answer.dropped : [];
    if (dropped.length) {
      const [noun, them] = dropped.length === 1 ? ["sentence", "it"] : ["sentences", "them"];
      parts.push(
        el(
          "details",
          { class: "answer-dropped" },
          el("summary", {}, `${dropped.length} ${noun} removed: no cited passage supports ${them}`),
          el("ul", {}, ...dropped.map((sentence) => el("li", {}, sentence))),
        ),
      );
    }
    this.checks.replaceChildren(...parts);
    this.checks.hidden = parts.length === 0;
  }

  fail(message) {
    this.waiting.hidden = true;
    this.error.hidden = false;
    const shown = this.text ? `The answer was interrupted: ${message}` : message;
    this.error.textContent = shown;
    this.node.dataset.state = "error";
    this.close();
    return shown;
  }

  close() {
    this.node.setAttribute("aria-busy", "false");
    this.node.dataset.done = "true";
  }

  /** The answer text with each [n] that has a footnote turned into a button opening it. */
  renderText() {
    const nodes = [];
    let last = 0;
    // The short answer, when there is one, goes before the text: "Nara — The summit ... [1]".
    if (this.shortAnswer) {
      nodes.push(el("strong", { class: "short-answer" }, this.shortAnswer), " — ");
    }
    for (const match of this.text.matchAll(MARKER)) {
      const n = Number(match[1]);
      if (!this.citations.has(n)) continue;
      if (match.index > last) nodes.push(document.createTextNode(this.text.slice(last, match.index)));
      nodes.push(this.renderMarker(n));
      last = match.index + match[0].length;
    }
    if (last < this.text.length) nodes.push(document.createTextNode(this.text.slice(last)));
    this.answer.replaceChildren(...nodes);
  }

  renderMarker(n) {
    const button = el(
      "button",
      {
        type: "button",
        class: "cite-ref",
        "data-n": n,
        "aria-label": `Source ${n}`,
        "aria-controls": this.citationId(n),
        title: `Show passage ${n}`,
      },
      `[${n}]`,
    );
    button.addEventListener("click", () => this.openCitation(n));
    return button;
  }

  citationId(n) {
    return `turn-${this.id}-citation-${n}`;
  }

  openCitation(n) {
    const details = document.getElementById(this.citationId(n));
    if (!details) return;
    details.open = true;
    const summary = details.querySelector("summary");
    summary.focus({ preventScroll: true });
    details.scrollIntoView({ block: "nearest", behavior: calm() ? "auto" : "smooth" });
    details.classList.remove("flash");
    void details.offsetWidth; // restart the highlight animation
    details.classList.add("flash");
  }

  renderCitation(citation) {
    const title = citation.title || baseName(citation.source);
    const summary = el(
      "summary",
      {},
      el("span", { class: "cite-num" }, `[${citation.n}]`),
      " ",
      el("span", { class: "cite-title" }, title),
      citation.section ? el("span", { class: "cite-section" }, ` · ${citation.section}`) : null,
      citation.page !== null && citation.page !== undefined
        ? el("span", { class: "cite-page" }, ` · page ${citation.page}`)
        : null,
      citation.outlet ? el("span", { class: "cite-outlet" }, ` · ${citation.outlet}`) : null,
      citation.published ? el("span", { class: "cite-published" }, ` · ${citation.published}`) : null,
      alsoIn(citation) ? el("span", { class: "cite-also-in" }, ` · also in: ${alsoIn(citation)}`) : null,
    );
    const meta = el("dl", { class: "source" });
    const add = (term, value, cls) => {
      if (value === null || value === undefined || value === "") return;
      meta.append(el("dt", {}, term), el("dd", { class: cls }, String(value)));
    };
    add("Document", citation.title);
    add("Outlet", citation.outlet);
    add("Published", citation.published);
    add("Also in", alsoIn(citation), "also-in");
    add("Section", citation.section);
    add("Page", citation.page);
    add("File", citation.source, "source-path");
    return el(
      "details",
      { class: "citation", "data-n": citation.n, id: this.citationId(citation.n) },
      summary,
      el(
        "div",
        { class: "citation-body" },
        el("blockquote", { class: "passage" }, citation.text),
        meta,
      ),
    );
  }
}

// ---------------------------------------------------------------- talking to the server

function historyToSend() {
  let recent = history.slice(-HISTORY_LIMIT);
  while (recent.length && recent[0].role !== "user") recent = recent.slice(1);
  return recent;
}

async function errorDetail(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : "";
  } catch {
    return "";
  }
}

function retryAfterSeconds(response) {
  const value = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

function httpErrorMessage(status, detail) {
  if (status >= 500 && status !== 503) {
    return "Something went wrong on the server. Please try again in a moment.";
  }
  if (status === 422 && /history/i.test(detail)) {
    return `${detail} Start a new conversation to go on.`;
  }
  if (detail && detail.length <= 300) return detail;
  switch (status) {
    case 413:
      return "Your message is too long to send.";
    case 422:
      return "The server could not accept that question.";
    case 429:
      return "Too many questions in a short time; please wait a moment and try again.";
    case 503:
      return "The assistant is not available right now; please try again shortly.";
    default:
      return `The server could not answer (status ${status}). Please try again.`;
  }
}

/** POSTs the question, dealing with the key, loading and rate-limit answers; returns the
 *  final answer JSON once the stream has delivered it. */
async function streamAnswer(question, earlier, turn, signal) {
  let retries = 0;
  for (;;) {
    let response;
    try {
      response = await fetch("/chat/stream", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          ...authHeaders(),
        },
        body: JSON.stringify({ message: question, history: earlier }),
        signal,
      });
    } catch (error) {
      signal.throwIfAborted();
      throw new UserFacingError(
        "Could not reach the server. Check your connection and try again.",
      );
    }

    if (response.status === 401) {
      const rejected = Boolean(storedKey());
      storeKey("");
      turn.setWaiting("Waiting for the API key…");
      const key = await askForKey(rejected);
      signal.throwIfAborted();
      if (!key) throw new UserFacingError("No API key was given, so the question was not sent.");
      turn.setWaiting("Looking through the documents…");
      continue;
    }

    if (response.status === 503 || response.status === 429) {
      const wait = retryAfterSeconds(response);
      const message = httpErrorMessage(response.status, await errorDetail(response));
      if (wait !== null && wait <= AUTO_RETRY_MAX_WAIT_S && retries < AUTO_RETRIES) {
        retries += 1;
        const note = `${message} Trying again in ${wait} s…`;
        turn.setWaiting(note);
        setStatus(note);
        await sleep(wait * 1000, signal);
        turn.setWaiting("Looking through the documents…");
        continue;
      }
      throw new UserFacingError(message);
    }

    if (!response.ok) {
      throw new UserFacingError(httpErrorMessage(response.status, await errorDetail(response)));
    }
    const type = response.headers.get("Content-Type") || "";
    if (!response.body || !type.startsWith("text/event-stream")) {
      throw new UserFacingError(GENERIC_FAILURE);
    }
    return readEvents(response.body, turn, signal);
  }
}

/** Reads the server-sent events of one answer into the turn; returns the `done` payload. */
async function readEvents(body, turn, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let name = "";
  let data = [];

  const dispatch = () => {
    const eventName = name || "message";
    const raw = data.join("\n");
    name = "";
    data = [];
    if (!raw) return null;
    let payload;
    try {
      payload = JSON.parse(raw);
    } catch {
      throw new UserFacingError("The server sent an answer this page could not read.");
    }
    const wasNearBottom = nearBottom();
    let result = null;
    if (eventName === "citations") {
      turn.shortAnswer = typeof payload.short_answer === "string" ? payload.short_answer : "";
      if (turn.shortAnswer) turn.waiting.hidden = true; // the answer has begun
      turn.setCitations(Array.isArray(payload.citations) ? payload.citations : []);
      if (typeof payload.answered === "boolean") {
        turn.label.textContent = payload.answered ? "Sources" : "Closest passages";
      }
    } else if (eventName === "delta") {
      turn.appendText(typeof payload.text === "string" ? payload.text : "");
    } else if (eventName === "done") {
      result = payload;
    } else if (eventName === "error") {
      const detail = typeof payload.detail === "string" && payload.detail ? payload.detail : "";
      throw new UserFacingError(detail || GENERIC_FAILURE);
    }
    keepBottom(wasNearBottom);
    return result;
  };

  const takeLine = (line) => {
    if (line === "") return dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
    return null;
  };

  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        signal.throwIfAborted();
        throw new UserFacingError(
          "The connection was lost while the answer was coming in. Please ask again.",
        );
      }
      buffer += chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        let line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.endsWith("\r")) line = line.slice(0, -1);
        const done = takeLine(line);
        if (done) return done;
      }
      if (chunk.done) {
        if (buffer) takeLine(buffer);
        const done = takeLine("");
        if (done) return done;
        throw new UserFacingError(
          "The connection closed before the answer was complete. Please ask again.",
        );
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

// ---------------------------------------------------------------- the conversation

function setBusy(value) {
  busy = value;
  const hadFocus = document.activeElement === ui.send;
  ui.send.disabled = value;
  ui.form.setAttribute("aria-busy", String(value));
  if (value && hadFocus) ui.message.focus();
}

async function ask(rawText) {
  const question = rawText.trim();
  if (busy) {
    setStatus("Please wait for the current answer to finish.");
    return;
  }
  if (!question) {
    setStatus("Type a question first.", "error");
    ui.message.focus();
    return;
  }
  setBusy(true);
  setStatus("Answering…");
  ui.message.value = "";
  autosize();
  ui.newChat.hidden = false;

  const earlier = historyToSend();
  addUserTurn(question);
  const turn = new AssistantTurn();
  keepBottom(true);
  const ownController = new AbortController();
  controller = ownController;
  try {
    const answer = await streamAnswer(question, earlier, turn, ownController.signal);
    turn.finish(answer);
    history.push({ role: "user", content: question }, { role: "assistant", content: answer.answer });
    setStatus(
      answer.answered
        ? "Answer ready."
        : "The documents do not answer that question; the closest passages are listed.",
    );
  } catch (error) {
    if (ownController.signal.aborted) return; // a new conversation replaced this one
    const message = error instanceof UserFacingError ? error.message : GENERIC_FAILURE;
    if (!(error instanceof UserFacingError)) console.error(error);
    let note = turn.fail(message);
    if (!ui.message.value.trim()) {
      ui.message.value = question;
      autosize();
      note += " Your question is back in the message box to send again.";
    }
    setStatus(note, "error");
  } finally {
    if (controller === ownController) {
      controller = null;
      setBusy(false);
    }
  }
}

function newConversation() {
  if (controller) controller.abort();
  controller = null;
  closeKeyForm(null);
  history = [];
  ui.conversation.replaceChildren();
  setBusy(false);
  ui.newChat.hidden = true;
  setStatus("Started a new conversation.");
  ui.message.focus();
}

function autosize() {
  ui.message.style.height = "auto";
  ui.message.style.height = `${ui.message.scrollHeight + 2}px`;
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  ask(ui.message.value);
});

ui.message.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.shiftKey || event.altKey || event.isComposing) return;
  event.preventDefault();
  ask(ui.message.value);
});

ui.message.addEventListener("input", autosize);
ui.newChat.addEventListener("click", newConversation);

// ---------------------------------------------------------------- readiness on load

async function showReadiness() {
  for (let poll = 0; poll < READY_POLLS; poll += 1) {
    let response;
    try {
      response = await fetch("/readyz", { headers: authHeaders() });
    } catch {
      ui.storeInfo.textContent = "The server cannot be reached right now.";
      return;
    }
    if (response.ok) {
      try {
        const ready = await response.json();
        const docs = `${ready.documents} document${ready.documents === 1 ? "" : "s"}`;
        const chunks = `${ready.chunks} passage${ready.chunks === 1 ? "" : "s"}`;
        ui.storeInfo.textContent = `Ready: ${docs}, ${chunks}.`;
      } catch {
        ui.storeInfo.textContent = "";
      }
      return;
    }
    if (response.status !== 503) {
      ui.storeInfo.textContent = "";
      return; // e.g. 401: the key is asked for with the first question
    }
    ui.storeInfo.textContent = "The assistant is starting; questions can be asked in a moment.";
    const wait = retryAfterSeconds(response) ?? 5;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, wait) * 1000));
  }
}

ui.newChat.hidden = true;
autosize();
showReadiness();
