// The live dashboard: polls the analytics API every 3 seconds (with the session cookie) and
// redraws the totals and each program's charts (inline SVG) in place, without a reload.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const POLL_MS = 3000;
  // The page's words (see staff_texts.html); `{name}` marks where a value goes.
  const T = $("texts").dataset;
  const say = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
  const kinds = { discount: T.kindDiscount, cumulative_discount: T.kindCumulativeDiscount, cashback: T.kindCashback, stamp: T.kindStamp };

  function el(tag, attrs, text) {
    const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function money(minor, currency) {
    const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 10 ** digits);
  }

  // Revenue per period as bars, with the largest value labelled.
  function barChart(series, currency) {
    const w = 700, h = 160, pad = 24;
    const max = Math.max(1, ...series.map((s) => s.revenue_minor));
    const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h + pad}`, class: "chart", role: "img", "aria-label": T.revenuePerPeriod });
    const bw = (w - pad) / Math.max(1, series.length);
    series.forEach((s, i) => {
      const bh = Math.max(0, (s.revenue_minor / max) * (h - 10));
      const bar = el("svg:rect", { x: pad + i * bw + 1, y: h - bh, width: Math.max(1, bw - 2), height: bh, class: "bar" });
      bar.append(el("svg:title", {}, `${s.start}: ${money(s.revenue_minor, currency)}, ${say(T.nOrders, { n: s.orders })}`));
      svg.append(bar);
    });
    svg.append(el("svg:line", { x1: pad, y1: h, x2: w, y2: h, class: "axis" }));
    svg.append(el("svg:text", { x: pad, y: 12, class: "label" }, money(max, currency)));
    if (series.length) {
      svg.append(el("svg:text", { x: pad, y: h + 16, class: "label" }, series[0].start));
      svg.append(el("svg:text", { x: w, y: h + 16, class: "label", "text-anchor": "end" }, series[series.length - 1].start));
    }
    return svg;
  }

  // Holders per tier as horizontal bars.
  function tierChart(tiers) {
    const total = Math.max(1, ...tiers.map((t) => t.holders));
    const box = el("div", { class: "tiers" });
    for (const t of tiers) {
      const row = el("div", { class: "tier" });
      row.append(el("span", { class: "tier-name" }, t.name));
      const bar = el("span", { class: "tier-bar" });
      bar.style.width = `${(t.holders / total) * 100}%`;
      row.append(bar, el("span", { class: "tier-count" }, String(t.holders)));
      box.append(row);
    }
    return box;
  }

  function figure(label, value) {
    const d = el("div");
    d.append(el("dt", {}, label), el("dd", {}, value));
    return d;
  }

  function programPanel(p) {
    const section = el("section", { class: "panel program", "data-program": p.id });
    section.append(el("h2", {}, `${p.name} · ${kinds[p.kind] || p.kind}`));
    const dl = el("dl", { class: "figures" });
    const pushes = p.push.reduce((a, k) => ({ done: a.done + k.done, dead: a.dead + k.dead }), { done: 0, dead: 0 });
    dl.append(
      figure(T.cardsIssued, String(p.cards.issued)),
      figure(T.installed, `${p.installs.apple} / ${p.installs.google}`),
      figure(T.activeHolders, String(p.active_holders)),
      figure(T.orders, String(p.orders.orders)),
      figure(T.revenue, money(p.orders.revenue_minor, p.currency)),
      figure(T.rewardsRedeemed, String(p.rewards.stamp_rewards)),
      figure(T.cashbackRedeemed, money(p.rewards.cashback_minor, p.currency)),
      figure(T.pushes, `${pushes.done} / ${pushes.dead}`),
    );
    section.append(dl, barChart(p.series, p.currency));
    if (p.tiers && p.tiers.length) {
      section.append(el("h3", {}, T.holdersPerTier), tierChart(p.tiers));
    }
    return section;
  }

  async function load() {
    const days = Number($("range").value);
    const from = new Date(Date.now() - (days - 1) * 86400000).toISOString().slice(0, 10);
    const query = `from=${from}&bucket=${days > 120 ? "week" : "day"}`;
    $("export").href = `/api/v1/analytics/orders.csv?from=${from}`;
    try {
      const r = await fetch(`/api/v1/analytics?${query}`, { credentials: "same-origin" });
      if (!r.ok) throw new Error(`the analytics answered ${r.status}`);
      const a = await r.json();
      const sum = (f) => a.programs.reduce((n, p) => n + f(p), 0);
      $("cards-total").textContent = String(sum((p) => p.cards.issued));
      $("installed-total").textContent = `${sum((p) => p.installs.apple)} / ${sum((p) => p.installs.google)}`;
      $("active-total").textContent = String(sum((p) => p.active_holders));
      $("orders-total").textContent = String(sum((p) => p.orders.orders));
      $("push-total").textContent = `${sum((p) => p.push.reduce((n, k) => n + k.done, 0))} / ${sum((p) => p.push.reduce((n, k) => n + k.dead, 0))}`;
      $("programs").replaceChildren(...a.programs.map(programPanel));
      $("bar-status").textContent = say(T.updated, { time: new Date().toLocaleTimeString() });
      $("load-error").hidden = true;
    } catch (e) {
      $("load-error").textContent = say(T.loadFailed, { error: e.message });
      $("load-error").hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("range").addEventListener("change", load);
    load();
    setInterval(load, POLL_MS);
  });
})();
