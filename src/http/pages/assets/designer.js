// The card designer: loads the program's design from the admin API, keeps the edited draft,
// uploads images (the server resizes them), redraws the preview from the server's
// `…/design/preview` (the same card face the passes are built from) as the admin edits,
// downloads a sample pass of the draft and saves after showing how many cards will change.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const T = $("texts").dataset;
  const say = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
  const base = "/programs/" + encodeURIComponent(T.program) + "/design";
  const slots = ["logo", "icon", "strip", "hero"];
  const langs = ["en", "ru", "zh-Hans"];
  let draft = { logo_text: {}, labels: {}, images: {} };
  let previewLang = "en";
  let timer = null;
  let asked = 0;

  async function call(method, path, body, type) {
    const headers = { "X-CSRF-Token": csrf };
    if (type) headers["Content-Type"] = type;
    const response = await fetch("/api/v1" + path, { method, credentials: "same-origin", headers, body });
    return response;
  }
  async function api(method, path, body) {
    const response = await call(method, path, body === undefined ? undefined : JSON.stringify(body), "application/json");
    let data = null;
    try { data = await response.json(); } catch (_) { /* not JSON */ }
    return { ok: response.ok, data };
  }
  function problem(data) {
    const e = data && data.error;
    return e ? e.message + (e.field ? " (" + e.field + ")" : "") : T.noAnswer;
  }
  function show(el, text) { el.textContent = text || ""; el.hidden = !text; }

  // "rgb(22, 52, 92)" or "#16345c" → "#16345c" for a colour input.
  function hex(colour) {
    if (!colour) return null;
    if (colour[0] === "#") return colour;
    const m = /rgb\(\s*(\d+),\s*(\d+),\s*(\d+)\s*\)/.exec(colour);
    return m ? "#" + m.slice(1).map((n) => Number(n).toString(16).padStart(2, "0")).join("") : null;
  }

  function slotPaths(slot) {
    return Object.keys(draft.images).filter((p) => slot === "hero" ? p === "google/hero.png"
      : p.startsWith(slot) || (slot === "logo" && p === "google/logo.png"));
  }
  function showSlot(slot, url) {
    const thumb = $("thumb-" + slot);
    const paths = slotPaths(slot);
    thumb.hidden = paths.length === 0;
    if (url) thumb.src = url;
    $("reset-" + slot).hidden = paths.length === 0;
  }

  function labelRows(words, standard) {
    const box = $("labels");
    for (const word of words) {
      const row = document.createElement("div");
      row.className = "designer-label";
      const head = document.createElement("p");
      head.textContent = word;
      row.appendChild(head);
      for (const lang of langs) {
        const input = document.createElement("input");
        input.dataset.lang = lang;
        input.dataset.word = word;
        input.placeholder = lang + ": " + ((standard[lang] || {})[word] || word);
        input.setAttribute("aria-label", word + " (" + lang + ")");
        input.maxLength = 64;
        input.value = (draft.labels[lang] || {})[word] || "";
        input.className = "label-text";
        row.appendChild(input);
      }
      box.appendChild(row);
    }
  }

  async function load() {
    const { ok, data } = await api("GET", base);
    if (!ok) { show($("status"), problem(data)); return; }
    draft = { background_color: data.background_color, foreground_color: data.foreground_color,
      label_color: data.label_color, logo_text: data.logo_text, labels: data.labels, images: data.images,
      version: data.version };
    asked = data.cards_to_update;
    for (const tag of langs) $("logo_text-" + tag).value = data.logo_text[tag] || "";
    for (const slot of slots) {
      const first = slotPaths(slot).sort()[0];
      showSlot(slot, first && data.image_urls[slot === "logo" ? "logo@2x.png" : first]);
    }
    labelRows(data.words, data.standard_labels);
    await refresh(true);
  }

  function collect() {
    for (const key of ["background_color", "foreground_color", "label_color"]) {
      const input = $(key);
      if (input.dataset.touched) draft[key] = input.value;
    }
    draft.logo_text = {};
    for (const input of document.querySelectorAll(".logo-text")) {
      if (input.value.trim()) draft.logo_text[input.dataset.lang] = input.value.trim();
    }
    draft.labels = {};
    for (const input of document.querySelectorAll(".label-text")) {
      if (!input.value.trim()) continue;
      (draft.labels[input.dataset.lang] = draft.labels[input.dataset.lang] || {})[input.dataset.word] = input.value.trim();
    }
    return draft;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => refresh(false), 250);
  }

  async function refresh(first) {
    const { ok, data } = await api("POST", base + "/preview?lang=" + encodeURIComponent(previewLang), collect());
    if (!ok) { show($("status"), problem(data)); return; }
    show($("status"), "");
    draw(data, first);
  }

  function fields(list, items) {
    list.replaceChildren();
    for (const f of items) {
      const box = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = f.label;
      dd.textContent = f.value;
      box.dataset.key = f.key;
      box.append(dt, dd);
      list.appendChild(box);
    }
  }
  function image(el, url) {
    el.hidden = !url;
    if (url && el.getAttribute("src") !== url) el.src = url;
  }

  function draw(p, first) {
    const a = p.apple;
    const front = $("apple-front");
    front.style.backgroundColor = a.background_color || "";
    front.style.color = a.foreground_color || "";
    front.style.setProperty("--pkpass-label", a.label_color || "");
    if (first) {
      for (const key of ["background_color", "foreground_color", "label_color"]) {
        if (!$(key).dataset.touched) $(key).value = hex(draft[key] || a[key]) || "#000000";
      }
    }
    image($("pv-logo"), a.logo);
    $("pv-logo-text").textContent = a.logo_text || "";
    const strip = $("pv-strip");
    strip.style.backgroundImage = a.strip ? "url(\"" + a.strip + "\")" : "none";
    fields($("pv-header"), a.fields.header);
    fields($("pv-primary"), a.fields.primary);
    fields($("pv-secondary"), a.fields.secondary);
    fields($("pv-auxiliary"), a.fields.auxiliary);
    fields($("pv-back"), a.fields.back);
    $("pv-code").textContent = a.barcode;
    drawGoogle(p.google, a.barcode);
  }

  // Google's localized strings: the value in the preview's language, else the default.
  function local(plain, localized) {
    const t = localized && (localized.translatedValues || []).find((v) => v.language === previewLang);
    return t ? t.value : plain;
  }
  function balance(b) {
    if (!b) return "";
    if (b.money) {
      return new Intl.NumberFormat(previewLang, { style: "currency", currency: b.money.currencyCode })
        .format(Number(b.money.micros) / 1e6);
    }
    return String(b.int !== undefined ? b.int : b.double !== undefined ? b.double : b.string);
  }

  function drawGoogle(g, code) {
    const card = $("google-card");
    const c = g.class || {};
    const o = g.object || {};
    card.style.backgroundColor = c.hexBackgroundColor || "#16345c";
    image($("pv-g-logo"), c.programLogo && c.programLogo.sourceUri.uri);
    $("pv-g-issuer").textContent = c.issuerName || "";
    $("pv-g-program").textContent = c.programName || "";
    const points = [o.loyaltyPoints, o.secondaryLoyaltyPoints].filter(Boolean)
      .map((pt, i) => ({ key: "points" + i, label: local(pt.label, pt.localizedLabel), value: balance(pt.balance) }));
    fields($("pv-g-points"), points);
    $("pv-g-code").textContent = code;
    const hero = (o.heroImage || c.heroImage);
    image($("pv-g-hero"), hero && hero.sourceUri.uri);
    const details = (o.textModulesData || []).map((m) => ({ key: m.id,
      label: local(m.header, m.localizedHeader), value: local(m.body, m.localizedBody) }));
    fields($("pv-g-details"), details);
  }

  async function upload(input) {
    const slot = input.dataset.slot;
    const file = input.files[0];
    const error = $("error-" + slot);
    if (!file) return;
    show(error, "");
    show($("status"), T.uploading);
    const response = await call("POST", "/images?slot=" + slot, file, file.type || "application/octet-stream");
    let data = null;
    try { data = await response.json(); } catch (_) { /* not JSON */ }
    input.value = "";
    if (!response.ok) { show($("status"), ""); show(error, problem(data)); return; }
    for (const path of slotPaths(slot)) delete draft.images[path];
    Object.assign(draft.images, data.images);
    const shown = data.sizes.find((s) => s.path === (slot === "logo" ? "logo@2x.png" : "icon@2x.png")) || data.sizes[data.sizes.length - 1];
    showSlot(slot, shown.url);
    await refresh(false);
  }

  function reset(slot) {
    for (const path of slotPaths(slot)) delete draft.images[path];
    showSlot(slot, null);
    schedule();
  }

  async function sample() {
    const response = await call("POST", base + "/sample.pkpass", JSON.stringify(collect()), "application/json");
    if (!response.ok) { show($("status"), T.noAnswer); return; }
    const link = $("sample-link");
    link.href = URL.createObjectURL(await response.blob());
    link.click();
  }

  async function save() {
    const { ok, data } = await api("PUT", base, collect());
    $("confirm").hidden = true;
    if (!ok) { show($("status"), problem(data)); return; }
    show($("status"), say(T.saved, { n: asked }));
    asked = data.cards_to_update;
    draft.version = data.version;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = $("design-form");
    form.addEventListener("input", (e) => {
      if (e.target.type === "color") e.target.dataset.touched = "1";
      if (e.target.type !== "file") schedule();
    });
    form.addEventListener("submit", (e) => e.preventDefault());
    for (const slot of slots) {
      $("file-" + slot).addEventListener("change", (e) => upload(e.target));
      $("reset-" + slot).addEventListener("click", () => reset(slot));
    }
    for (const button of document.querySelectorAll(".designer-langs .lang")) {
      button.addEventListener("click", () => {
        previewLang = button.dataset.lang;
        for (const b of document.querySelectorAll(".designer-langs .lang")) {
          b.setAttribute("aria-pressed", String(b === button));
        }
        refresh(false);
      });
    }
    $("sample").addEventListener("click", sample);
    $("save").addEventListener("click", async () => {
      const { ok, data } = await api("GET", base);
      if (ok) asked = data.cards_to_update;
      $("confirm-text").textContent = say(T.confirmSave, { n: asked });
      $("confirm").hidden = false;
    });
    $("confirm-save").addEventListener("click", save);
    $("confirm-cancel").addEventListener("click", () => { $("confirm").hidden = true; });
    load();
  });
})();
