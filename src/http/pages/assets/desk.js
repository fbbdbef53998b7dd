// The order desk: scan (code + Enter) → the card → amount → quote → book; refund a booking;
// redeem a reward. Every call goes to the admin API with the session cookie and its CSRF token.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // The page's words (see staff_texts.html); `{name}` marks where a value goes.
  const T = $("texts").dataset;
  const say = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
  const lang = document.documentElement.lang || "en";
  const statuses = { active: T.statusActive, suspended: T.statusSuspended, revoked: T.statusRevoked };
  let card = null;
  let exponent = 2;

  async function api(method, path, body) {
    const response = await fetch("/api/v1" + path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (_) { /* an empty body */ }
    return { status: response.status, data };
  }

  function id() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "desk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function show(el, text) { el.textContent = text; el.hidden = !text; }
  function problem(data) {
    const e = data && data.error;
    return e ? e.message + (e.field ? " (" + e.field + ")" : "") : T.noAnswer;
  }

  // "123.45" or "123,45" in the card's currency → integer minor units, or null.
  function minor(text) {
    const t = text.trim().replace(",", ".");
    if (!/^\d+(\.\d+)?$/.test(t)) return null;
    const [whole, frac = ""] = t.split(".");
    if (frac.length > exponent) return null;
    return Number(whole) * 10 ** exponent + Number(frac.padEnd(exponent, "0") || "0");
  }
  function money(m) {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: card.currency }).format(m / 10 ** exponent);
  }

  function render() {
    $("card").hidden = false;
    $("holder").textContent = card.holder_name;
    $("company").textContent = card.company_name;
    $("program").textContent = card.program_name;
    const status = $("card-status");
    status.textContent = statuses[card.status] || card.status;
    status.className = card.status;
    $("currency").textContent = card.currency;
    exponent = new Intl.NumberFormat("en", { style: "currency", currency: card.currency }).resolvedOptions().maximumFractionDigits;
    const figures = $("figures");
    figures.replaceChildren();
    for (const area of ["header", "primary", "secondary", "auxiliary"]) {
      // The holder and company are in the heading already.
      for (const f of (card.face[area] || []).filter((f) => f.key !== "member" && f.key !== "company")) {
        const div = document.createElement("div");
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = f.label;
        dd.textContent = f.value;
        div.append(dt, dd);
        figures.append(div);
      }
    }
    const active = card.status === "active";
    $("book").hidden = !active;
    const b = card.balance || {};
    $("redeem-reward").hidden = !(active && b.rewards_available > 0);
    const cashback = active && b.cashback_minor > 0;
    $("redeem").hidden = !cashback;
    $("redeem-label").hidden = !cashback;
  }

  async function lookup(code) {
    show($("scan-error"), "");
    show($("result"), "");
    show($("action-error"), "");
    const clean = code.trim().toUpperCase();
    if (!clean) return;
    const r = await api("GET", "/cards/by-code/" + encodeURIComponent(clean) + "?lang=" + encodeURIComponent(lang));
    if (r.status === 404) {
      card = null;
      $("card").hidden = true;
      show($("scan-error"), say(T.unknownCard, { code: clean }));
    } else if (r.status !== 200) {
      show($("scan-error"), problem(r.data));
    } else {
      card = r.data;
      render();
      $("amount").value = "";
      show($("quote"), "");
      $("amount").focus();
      return;
    }
    $("scan").select();
  }

  async function quote() {
    const gross = minor($("amount").value);
    if (!card || gross === null) { show($("quote"), ""); return; }
    const r = await api("POST", "/desk/quote", { card_code: card.code, gross_minor: gross });
    if (r.status !== 200) { show($("quote"), problem(r.data)); return; }
    const q = r.data;
    let text = say(T.quote, { percent: q.discount_bps / 100, discount: money(q.discount_minor), net: money(q.net_minor) });
    if (q.cashback_allowed_max_minor !== undefined && q.cashback_allowed_max_minor !== null) {
      text += say(T.quoteCashback, { max: money(q.cashback_allowed_max_minor) });
    }
    show($("quote"), text);
  }

  async function book() {
    show($("action-error"), "");
    const amount = minor($("amount").value);
    if (amount === null || amount <= 0) { show($("action-error"), T.enterAmount); return; }
    const body = { external_id: id(), account_id: card.account_id, card_code: card.code, amount_minor: amount, currency: card.currency, placed_at: new Date().toISOString() };
    const redeem = $("redeem").hidden ? null : minor($("redeem").value || "0");
    if (redeem) body.cashback_redeemed_minor = redeem;
    const r = await api("POST", "/orders", body);
    if (r.status !== 201 && r.status !== 200) { show($("action-error"), problem(r.data)); return; }
    show($("result"), say(T.booked, { amount: money(amount) }));
    addBooked(body.external_id, amount);
    await refresh();
  }

  function addBooked(externalId, amount) {
    const li = document.createElement("li");
    li.textContent = money(amount) + " ";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link refund";
    button.textContent = T.refund;
    button.addEventListener("click", async () => {
      const r = await api("POST", "/orders/" + encodeURIComponent(externalId) + "/refunds", { external_id: externalId + "-refund", amount_minor: amount });
      if (r.status !== 201 && r.status !== 200) { show($("action-error"), problem(r.data)); return; }
      li.textContent = say(T.refundedItem, { amount: money(amount) });
      show($("result"), say(T.refunded, { amount: money(amount) }));
      await refresh();
    });
    li.append(button);
    $("booked").prepend(li);
  }

  async function redeemReward() {
    const r = await api("POST", "/cards/" + card.id + "/redemptions", { external_id: id(), kind: "reward" });
    if (r.status !== 201 && r.status !== 200) { show($("action-error"), problem(r.data)); return; }
    show($("result"), T.rewardRedeemed);
    await refresh();
  }

  async function refresh() {
    const r = await api("GET", "/cards/" + card.id + "?lang=" + encodeURIComponent(lang));
    if (r.status === 200) { card = r.data; render(); }
    $("amount").value = "";
    $("redeem").value = "";
    show($("quote"), "");
    $("scan").value = "";
    $("scan").focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("scan").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); lookup($("scan").value); } });
    $("amount").addEventListener("input", quote);
    $("amount").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); book(); } });
    $("book-order").addEventListener("click", book);
    $("redeem-reward").addEventListener("click", redeemReward);
    $("scan").focus();
  });
})();
