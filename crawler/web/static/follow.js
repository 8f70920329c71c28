// Follows a running crawl's log: appends the lines the server sends (server-sent events)
// until the run ends. Without JavaScript the page shows the log as it was when loaded.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const log = document.getElementById("log");
  if (!log) return;
  log.scrollTop = log.scrollHeight; // the end of a log is where its outcome is
  if (!log.dataset.events || !window.EventSource) return;
  const note = document.getElementById("follow-note");
  const source = new EventSource(log.dataset.events);
  source.onmessage = (message) => {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.append(document.createTextNode(message.data + "\n"));
    if (atBottom) log.scrollTop = log.scrollHeight;
  };
  source.addEventListener("end", (message) => {
    source.close();
    if (note) note.textContent = message.data === "the run ended" ? "the run ended" : message.data;
    const status = document.getElementById("run-status");
    if (!status || !log.dataset.run) return;
    fetch("/api/runs/" + log.dataset.run, { credentials: "same-origin" })
      .then((reply) => reply.json())
      .then((run) => {
        status.textContent = run.status;
        status.className = "status " + run.status;
      })
      .catch(() => { status.textContent = "ended — reload for its status"; });
  });
});
