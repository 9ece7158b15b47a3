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

// One user's page: when the licence or user type changes, mark the roles and role groups it
// does not allow (the server's rule, role_refusal); a held one stays enabled so saving never
// drops it silently (the API refuses the change and says why).
(function () {
  const licence = document.querySelector("select[data-access=licence]");
  const userType = document.querySelector("select[data-access=userType]");
  if (!licence || !userType) return;
  const list = (text) => { try { return JSON.parse(text || "[]") || []; } catch (e) { return []; } };
  const refusal = (box) => {
    const licences = list(box.dataset.licences);
    const types = list(box.dataset.userTypes);
    const code = "'" + box.dataset.role + "'";
    if (licences.length && !licences.includes(licence.value)) {
      return "role " + code + " needs one of the licences " + licences.join(", ") +
        "; the account has " + (licence.value || "none");
    }
    if (types.length && !types.includes(userType.value)) {
      return "role " + code + " is for user types " + types.join(", ") +
        "; the account is " + (userType.value || "untyped");
    }
    return "";
  };
  const mark = (box, why, prefix) => {
    const hint = document.getElementById(box.getAttribute("aria-describedby"));
    box.disabled = Boolean(why) && !box.checked;
    if (hint) hint.textContent = prefix + (why ? "Not allowed: " + why : "");
  };
  const update = () => {
    const refused = {};
    document.querySelectorAll("input[data-role]").forEach((box) => {
      refused[box.dataset.role] = refusal(box);
      mark(box, refused[box.dataset.role], "");
    });
    document.querySelectorAll("input[data-group-roles]").forEach((box) => {
      const roles = list(box.dataset.groupRoles);
      const first = roles.find((code) => refused[code]);
      const why = first ? refused[first] : "";
      mark(box, why, roles.length ? "Roles: " + roles.join(", ") + ". " : "");
    });
  };
  licence.addEventListener("change", update);
  userType.addEventListener("change", update);
})();

// A page whose only job is to send the browser on (to Azure AD's login, or from the SSO
// callback to the list: a same-site navigation, so the session cookie goes with it) follows
// its link at once; without JavaScript the link is there to click.
(function () {
  const next = document.querySelector("a[data-navigate]");
  if (next) window.location.replace(next.href);
})();
