// The console's forms and buttons: a form marked `data-api` is sent as JSON to the admin API
// with the session cookie and the CSRF token; an API error shows next to the input whose
// `data-field` names the error's `field`. Inputs say how they turn into JSON:
//   name="rules.percent_bps"   a path into the body (dots; `[]` ends a list of checked values)
//   data-type="percent"        "7.5" → 750 basis points
//   data-type="money"          "1 234.50" → 123450 minor units of the form's currency
//   data-type="int"            a whole number
//   data-type="date"           a day → the end of that day, local time, as RFC 3339
//   data-type="window"         lifetime | calendar_year | rolling_days (+ the days input)
//   data-type="key"            a fresh random idempotency key
//   data-upper                 a text sent in capitals (currency codes)
// Empty number inputs are left out, empty texts sent as "". `data-list` holds rows (`data-row`) of a list (the tiers).
// Buttons with `data-api` send `data-body` (JSON) with `data-method`, after `data-confirm`.
// After success: `data-next` with `{id}` taken from the answer, or the same page again.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const T = (document.getElementById("console-texts") || { dataset: {} }).dataset;

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (_) { /* an empty body */ }
    return { ok: response.ok, status: response.status, data };
  }

  // The API's messages in the page's language, where the page has them.
  const said = new Map(Array.from(document.querySelectorAll("#console-texts [data-en]"), (e) => [e.dataset.en, e.textContent]));
  const say = (message) => said.get(message) || message;

  class Invalid extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  function exponentOf(form) {
    const currency = form.querySelector('[name="currency"]');
    const code = (currency && currency.value) || form.dataset.currency || "EUR";
    try {
      return new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions().maximumFractionDigits;
    } catch (_) { return 2; }
  }

  function number(text) { return text.replace(/[\s\u00a0']/g, "").replace(",", "."); }

  function convert(input, form) {
    const raw = input.value.trim();
    const field = input.dataset.field || input.name;
    switch (input.dataset.type) {
      case "percent": {
        const t = number(raw);
        if (!/^\d+(\.\d{1,2})?$/.test(t) || Number(t) > 100) throw new Invalid(field, T.percentError);
        return Math.round(Number(t) * 100);
      }
      case "money": {
        const exp = exponentOf(form);
        const t = number(raw);
        const [whole, frac = ""] = t.replace(/^-/, "").split(".");
        if (!/^-?\d+(\.\d+)?$/.test(t) || frac.length > exp) throw new Invalid(field, T.moneyError);
        const value = Number(whole) * 10 ** exp + Number(frac.padEnd(exp, "0") || "0");
        return t.startsWith("-") ? -value : value;
      }
      case "int": {
        if (!/^-?\d+$/.test(raw)) throw new Invalid(field, T.intError);
        return Number(raw);
      }
      case "date": {
        const day = new Date(raw + "T23:59:59");
        if (Number.isNaN(day.getTime())) throw new Invalid(field, T.dateError);
        return day.toISOString();
      }
      case "window": {
        if (input.value !== "rolling_days") return input.value;
        const days = input.closest("fieldset, form").querySelector("[data-window-days]");
        return { rolling_days: convert(days, form) };
      }
      default:
        return input.hasAttribute("data-upper") ? raw.toUpperCase() : raw;
    }
  }

  function put(body, path, value) {
    const keys = path.split(".");
    let at = body;
    keys.slice(0, -1).forEach((k) => { at = at[k] = at[k] || {}; });
    const last = keys[keys.length - 1];
    if (last.endsWith("[]")) {
      const k = last.slice(0, -2);
      at[k] = at[k] || [];
      if (value !== undefined) at[k].push(value);
    } else if (value !== undefined) {
      at[last] = value;
    }
  }

  function serialize(form) {
    const body = {};
    const lists = new Set(form.querySelectorAll("[data-list]"));
    for (const input of form.querySelectorAll("input[name], select[name], textarea[name]")) {
      if (input.matches(":disabled") || input.closest("[data-list]") || input.hasAttribute("data-window-days")) continue;
      if ((input.type === "checkbox" || input.type === "radio") && !input.checked) {
        if (input.name.endsWith("[]")) put(body, input.name, undefined);
        continue;
      }
      if (input.dataset.type === "key") { put(body, input.name, randomKey()); continue; }
      // An empty number is left out (the API's default applies); an empty text is sent, so
      // that a required one is refused naming its field and an optional one is cleared.
      if (input.value.trim() === "" && input.dataset.type) continue;
      put(body, input.name, convert(input, form));
    }
    for (const list of lists) {
      if (list.matches(":disabled") || list.closest(":disabled")) continue;
      const rows = [];
      list.querySelectorAll("[data-row]").forEach((row, i) => {
        const item = {};
        for (const input of row.querySelectorAll("input[name]")) {
          input.dataset.field = `${list.dataset.list}[${i}].${input.name}`;
          if (input.value.trim() !== "" || !input.dataset.type) item[input.name] = convert(input, form);
        }
        rows.push(item);
      });
      put(body, list.dataset.list, rows);
    }
    return body;
  }

  function randomKey() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error[data-shown]").forEach((e) => e.remove());
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
    const top = form.querySelector(".form-error");
    if (top) { top.hidden = true; top.textContent = ""; }
  }

  function showError(form, field, message) {
    const css = window.CSS && CSS.escape ? CSS.escape(field || "") : field;
    // The first element naming the field outside the fieldsets of other kinds.
    const find = (selector) => Array.from(form.querySelectorAll(selector)).find((el) => !el.closest("fieldset:disabled"));
    let input = field ? find(`[data-field="${css}"], [name="${css}"]`) : null;
    // `rules.tiers` or `program_ids` name the list as a whole.
    if (!input && field) input = find(`[data-list="${css}"], [name="${css}[]"]`);
    if (input) {
      const note = document.createElement("p");
      note.className = "field-error";
      note.dataset.shown = "";
      note.setAttribute("role", "alert");
      note.textContent = message;
      input.setAttribute("aria-invalid", "true");
      const anchor = input.closest(".field, td, [data-list]") || input;
      anchor.appendChild(note);
      input.focus && input.focus();
      return;
    }
    const top = form.querySelector(".form-error");
    if (top) { top.textContent = message; top.hidden = false; } else { alert(message); }
  }

  function next(el, data) {
    // The page after the change says it was saved (the page it reloads or opens).
    if (el.dataset.saved) sessionStorage.setItem("console-saved", el.dataset.saved);
    const target = el.dataset.next;
    if (!target) { location.reload(); return; }
    location.assign(target.replace("{id}", data && data.id ? encodeURIComponent(data.id) : ""));
  }

  async function submit(form, event) {
    event.preventDefault();
    clearErrors(form);
    let body;
    try {
      body = serialize(form);
    } catch (e) {
      if (e instanceof Invalid) { showError(form, e.field, e.message); return; }
      throw e;
    }
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    const button = form.querySelector('button[type="submit"], button:not([type])');
    if (button) button.disabled = true;
    try {
      const answer = await api(form.dataset.method || "POST", form.dataset.api, body);
      if (answer.ok) { next(form, answer.data); return; }
      const error = answer.data && answer.data.error;
      showError(form, error && error.field, error ? say(error.message) : T.noAnswer);
    } catch (_) {
      showError(form, null, T.noAnswer);
    } finally {
      if (button) button.disabled = false;
    }
  }

  async function act(button) {
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    const status = button.parentElement.querySelector(".action-status") || null;
    button.disabled = true;
    try {
      const body = button.dataset.body ? JSON.parse(button.dataset.body) : {};
      const answer = await api(button.dataset.method || "POST", button.dataset.api, body);
      if (answer.ok) {
        if (button.dataset.done && status) { status.textContent = button.dataset.done; status.hidden = false; return; }
        next(button, answer.data);
        return;
      }
      const error = answer.data && answer.data.error;
      const message = error ? say(error.message) : T.noAnswer;
      if (status) { status.textContent = message; status.hidden = false; status.classList.add("error"); } else { alert(message); }
    } finally {
      button.disabled = false;
    }
  }

  // The kind of a new program decides which of its rule fieldsets is filled in.
  function showKind(form) {
    const kind = form.querySelector('[name="kind"]:checked') || form.querySelector('[name="kind"]');
    if (!kind) return;
    form.querySelectorAll("fieldset[data-kind]").forEach((set) => {
      const on = set.dataset.kind === kind.value;
      set.hidden = !on;
      set.disabled = !on;
    });
  }

  function showWindowDays(select) {
    const days = select.closest("fieldset, form").querySelector("[data-window-days]");
    if (days) days.closest(".field").hidden = select.value !== "rolling_days";
  }

  function addRow(list) {
    const template = list.querySelector("template");
    const row = template.content.firstElementChild.cloneNode(true);
    list.querySelector("tbody").appendChild(row);
    row.querySelector("input").focus();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches("form[data-api]")) submit(form, event);
  });
  document.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.matches("[data-api]") && !target.form) { act(target); return; }
    if (target.matches("[data-add-row]")) { addRow(target.closest("[data-list-box]").querySelector("[data-list]")); return; }
    if (target.matches("[data-remove-row]")) { target.closest("[data-row]").remove(); return; }
    if (target.matches("[data-copy]")) {
      const source = document.getElementById(target.dataset.copy);
      const done = () => { const s = target.nextElementSibling; if (s) { s.hidden = false; } };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(source.value).then(done, () => { source.select(); document.execCommand("copy"); done(); });
      } else { source.select(); document.execCommand("copy"); done(); }
      return;
    }
    if (target.matches("[data-print]")) { window.print(); }
  });
  document.addEventListener("change", (event) => {
    const el = event.target;
    if (el.matches('form[data-api] [name="kind"]')) showKind(el.form);
    if (el.matches('[data-type="window"]')) showWindowDays(el);
    if (el.matches('form[data-api] [name="currency"]')) {
      el.form.querySelectorAll(".currency-code").forEach((s) => { s.textContent = el.value; });
    }
  });
  const saved = sessionStorage.getItem("console-saved");
  if (saved) {
    sessionStorage.removeItem("console-saved");
    const note = document.createElement("p");
    note.className = "notice saved";
    note.id = "saved";
    note.setAttribute("role", "status");
    note.textContent = saved;
    const main = document.querySelector("main");
    const bar = main.querySelector(".console-bar");
    main.insertBefore(note, bar ? bar.nextSibling : main.firstChild);
  }
  document.querySelectorAll("form[data-api]").forEach(showKind);
  document.querySelectorAll('[data-type="window"]').forEach(showWindowDays);
  document.querySelectorAll("[data-local-time-zone]").forEach((input) => {
    if (!input.value) input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  });
})();
