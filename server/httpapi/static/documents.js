// The Documents panel of the chat page: add files (chosen or dropped) and URLs through
// POST /documents, follow the job until its report, then list, search, open and delete
// documents. Uses app.js's helpers (el, authHeaders, errorDetail, httpErrorMessage); every
// server string is inserted as text, never as HTML.
"use strict";

const JOB_POLL_MS = 500;
const docsUi = {
  toggle: $("documents-toggle"),
  panel: $("documents"),
  form: $("upload-form"),
  drop: $("drop-zone"),
  files: $("upload-files"),
  urls: $("upload-urls"),
  submit: $("upload-submit"),
  status: $("upload-status"),
  search: $("documents-search"),
  query: $("documents-q"),
  count: $("documents-count"),
  list: $("documents-list"),
};
let droppedFiles = [];

function setUploadStatus(text, kind = "info") {
  docsUi.status.textContent = text;
  docsUi.status.dataset.kind = kind;
}

/** fetch with the API key, asking for it (app.js's form) once when it is refused. */
async function keyedFetch(url, options = {}) {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const response = await fetch(url, { ...options, headers: { ...authHeaders() } });
    if (response.status !== 401 || attempt > 0) return response;
    if ((await askForKey(Boolean(storedKey()))) === null) return response;
  }
  throw new Error("unreachable");
}

async function failureText(response) {
  const detail = await errorDetail(response);
  if (response.status === 413) return detail || "That is too large to upload.";
  if (response.status === 415) return detail || "That kind of file cannot be read.";
  return httpErrorMessage(response.status, detail);
}

function togglePanel() {
  const open = docsUi.panel.hidden;
  docsUi.panel.hidden = !open;
  docsUi.toggle.setAttribute("aria-expanded", String(open));
  if (open) {
    docsUi.files.focus();
    listDocuments();
  }
}

// ---------------------------------------------------------------- adding

function chosenFiles() {
  return droppedFiles.length ? droppedFiles : Array.from(docsUi.files.files || []);
}

async function addDocuments(event) {
  event.preventDefault();
  const files = chosenFiles();
  const urls = docsUi.urls.value.trim();
  if (!files.length && !urls) {
    setUploadStatus("Choose or drop a file, or paste a URL.", "error");
    return;
  }
  const body = new FormData();
  for (const file of files) body.append("files", file, file.name);
  if (urls) body.append("urls", urls);
  docsUi.submit.disabled = true;
  setUploadStatus("Uploading…");
  try {
    const response = await keyedFetch("/documents", { method: "POST", body });
    if (response.status !== 202) {
      setUploadStatus(await failureText(response), "error");
      return;
    }
    const { job } = await response.json();
    droppedFiles = [];
    docsUi.form.reset();
    await followJob(job);
  } catch {
    setUploadStatus("The server cannot be reached right now.", "error");
  } finally {
    docsUi.submit.disabled = false;
  }
}

async function followJob(job) {
  for (;;) {
    const response = await keyedFetch(`/jobs/${encodeURIComponent(job)}`);
    if (!response.ok) {
      setUploadStatus(await failureText(response), "error");
      return;
    }
    const status = await response.json();
    if (status.state === "done") {
      setUploadStatus(reportText(status.report), "done");
      listDocuments();
      return;
    }
    if (status.state === "failed") {
      setUploadStatus(status.error || "The documents could not be added.", "error");
      return;
    }
    setUploadStatus(status.state === "queued" ? "Waiting for its turn…" : "Reading and indexing…");
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
  }
}

function reportText(report) {
  const parts = [`Added ${report.added} document${report.added === 1 ? "" : "s"}.`];
  if (report.updated) parts.push(`Updated ${report.updated}.`);
  const copies = report.duplicates.length + report.near_duplicates.length;
  if (copies) parts.push(`${copies} already held (a copy).`);
  for (const skipped of report.skipped) {
    parts.push(`Not added: ${baseName(skipped.path)} (${skipped.reason}).`);
  }
  if (report.added) parts.push("You can ask about it now.");
  return parts.join(" ");
}

// ---------------------------------------------------------------- listing

async function listDocuments(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams({ limit: "100" });
  if (docsUi.query.value.trim()) params.set("q", docsUi.query.value.trim());
  let response;
  try {
    response = await keyedFetch(`/documents?${params}`);
  } catch {
    docsUi.count.textContent = "The server cannot be reached right now.";
    return;
  }
  if (!response.ok) {
    docsUi.count.textContent = await failureText(response);
    return;
  }
  const page = await response.json();
  docsUi.list.replaceChildren(...page.documents.map(documentItem));
  const shown = page.documents.length;
  docsUi.count.textContent =
    page.total === shown ? `${page.total} document${page.total === 1 ? "" : "s"}.` : `${shown} of ${page.total} documents.`;
}

function documentItem(doc) {
  const details = [doc.outlet, (doc.published || "").slice(0, 10), `${doc.chunks} passage${doc.chunks === 1 ? "" : "s"}`]
    .filter(Boolean)
    .join(" · ");
  const open = el("button", { type: "button", class: "link-button" }, doc.title || baseName(doc.source));
  const remove = el("button", { type: "button", class: "secondary small", "aria-label": `Delete ${doc.title || baseName(doc.source)}` }, "Delete");
  const passages = el("div", { class: "document-passages", hidden: true });
  const item = el("li", { class: "document" }, el("div", { class: "document-row" }, open, remove), el("p", { class: "muted" }, details), passages);
  open.addEventListener("click", () => showDocument(doc.id, passages, open));
  remove.addEventListener("click", () => deleteDocument(doc, item));
  return item;
}

async function showDocument(id, holder, button) {
  if (!holder.hidden) {
    holder.hidden = true;
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const response = await keyedFetch(`/documents/${encodeURIComponent(id)}`);
  if (!response.ok) {
    holder.replaceChildren(el("p", {}, await failureText(response)));
  } else {
    const detail = await response.json();
    holder.replaceChildren(
      el("p", { class: "muted" }, detail.source),
      ...detail.passages.map((p) => el("p", { class: "passage" }, p.text)),
    );
  }
  holder.hidden = false;
  button.setAttribute("aria-expanded", "true");
}

async function deleteDocument(doc, item) {
  const name = doc.title || baseName(doc.source);
  if (!window.confirm(`Delete "${name}"? Its passages will no longer be searched or cited.`)) return;
  const response = await keyedFetch(`/documents/${encodeURIComponent(doc.id)}`, { method: "DELETE" });
  if (response.status === 204) {
    item.remove();
    setUploadStatus(`Deleted "${name}".`, "done");
    listDocuments();
  } else {
    setUploadStatus(await failureText(response), "error");
  }
}

// ---------------------------------------------------------------- wiring

docsUi.toggle.addEventListener("click", togglePanel);
docsUi.form.addEventListener("submit", addDocuments);
docsUi.search.addEventListener("submit", listDocuments);
docsUi.files.addEventListener("change", () => {
  droppedFiles = [];
});
for (const name of ["dragenter", "dragover"]) {
  docsUi.drop.addEventListener(name, (event) => {
    event.preventDefault();
    docsUi.drop.classList.add("dragging");
  });
}
docsUi.drop.addEventListener("dragleave", () => docsUi.drop.classList.remove("dragging"));
docsUi.drop.addEventListener("drop", (event) => {
  event.preventDefault();
  docsUi.drop.classList.remove("dragging");
  droppedFiles = Array.from(event.dataTransfer.files || []);
  setUploadStatus(`${droppedFiles.length} file${droppedFiles.length === 1 ? "" : "s"} ready: choose Add.`);
});
