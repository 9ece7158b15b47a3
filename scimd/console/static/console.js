// scimd console: a little plain JavaScript. Every page works without it; it adds the column
// chooser's memory, select-all, a confirmation dialog for bulk actions, and live progress.
"use strict";

(function () {
  const admin = document.body.dataset.admin || "";

  // Column chooser: the ticked columns are shown, and remembered per admin in this browser.
  const chooser = document.querySelector(".chooser");
  if (chooser) {
    const key = "scimd.columns." + admin;
    const boxes = Array.from(chooser.querySelectorAll("input[name=column]"));
    const show = (columns) => {
      document.querySelectorAll("[data-column]").forEach((cell) => {
        cell.hidden = !columns.includes(cell.dataset.column);
      });
      boxes.forEach((box) => { box.checked = columns.includes(box.value); });
    };
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    if (Array.isArray(saved)) show(saved);
    boxes.forEach((box) => box.addEventListener("change", () => {
      const columns = boxes.filter((b) => b.checked).map((b) => b.value);
      localStorage.setItem(key, JSON.stringify(columns));
      show(columns);
    }));
  }

  // Select all rows of the page.
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll("input[name=ids]").forEach((box) => { box.checked = all.checked; });
    });
  }

  // Bulk actions: confirm in a dialog, then post with confirm=yes.
  const bulk = document.getElementById("bulk");
  const dialog = document.getElementById("confirm-dialog");
  if (bulk && dialog && typeof dialog.showModal === "function") {
    bulk.addEventListener("submit", (event) => {
      const button = event.submitter;
      if (!button || button.name !== "action") return;
      event.preventDefault();
      const chosen = bulk.querySelectorAll("input[name=ids]:checked").length;
      const label = button.textContent.trim();
      document.getElementById("confirm-text").textContent =
        chosen ? label + " " + chosen + " user" + (chosen === 1 ? "" : "s") + "?" : "Select at least one user first.";
      document.getElementById("confirm-yes").hidden = chosen === 0;
      dialog.returnValue = "";
      dialog.onclose = () => {
        if (dialog.returnValue !== "confirm") return;
        const hidden = (name, value) => {
          const input = document.createElement("input");
          input.type = "hidden"; input.name = name; input.value = value;
          bulk.appendChild(input);
        };
        hidden("action", button.value);
        hidden("confirm", "yes");
        bulk.submit();
      };
      dialog.showModal();
    });
  }

  // Live progress of a job: poll its JSON and fill the <progress> until it ends.
  document.querySelectorAll("[data-progress]").forEach((box) => {
    const bar = box.querySelector("progress");
    const text = box.querySelector("[data-progress-text]");
    const tick = () => {
      fetch(box.dataset.progress, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => r.json())
        .then((job) => {
          if (bar && job.total) { bar.max = job.total; bar.value = job.done || 0; }
          if (text) text.textContent = job.status + (job.total ? " — " + (job.done || 0) + " of " + job.total : "");
          if (job.status === "queued" || job.status === "running") setTimeout(tick, 700);
          else if (box.dataset.reload !== undefined) window.location.reload();
        })
        .catch(() => setTimeout(tick, 2000));
    };
    tick();
  });
})();
