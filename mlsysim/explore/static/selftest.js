/* Test harness (written only into selftest.html by the test suite): drives the page's own controls
 * with the cases in window.MLSYSIM_CASES and records what the page shows, for chromium --dump-dom. */
(function () {
  "use strict";
  const M = window.MLSYSIM, api = M.api, C = window.MLSYSIM_CASES || {};
  const out = { forward: [], inverse: [], scorecard: [], pickers: [], mathml: {}, errors: [] };
  function panel(set) { return api.panels.find(function (p) { return p.set === set; }); }
  function fire(e, type) { e.dispatchEvent(new Event(type, { bubbles: true })); }
  function setBoxes(inputs, values) {
    let last = null;
    for (const n in values) { inputs[n].box.value = String(values[n]); last = inputs[n].box; }
    if (last) fire(last, "change");
  }
  function read(p) {
    const r = { error: p.status.textContent, values: {}, regimes: {} };
    for (const n in p.outputs) {
      r.values[n] = p.outputs[n].val.getAttribute("data-value");
      r.regimes[n] = p.outputs[n].reg.getAttribute("data-regime") || "";
    }
    return r;
  }
  try {
    for (const c of (C.forward || [])) {
      const p = panel(c.set);
      setBoxes(p.inputs, c.inputs);
      out.forward.push(read(p));
    }
    for (const c of (C.inverse || [])) {
      const p = panel(c.set);
      setBoxes(p.inputs, c.inputs);
      p.selU.value = c.unknown; fire(p.selU, "change");
      p.selT.value = c.target; fire(p.selT, "change");
      p.tbox.value = String(c.value);
      p.invOut.removeAttribute("data-value");
      if (p.selU.value === c.unknown && p.selT.value === c.target) p.sec.querySelector(".inv-solve").click();
      out.inverse.push({ selected: p.selU.value === c.unknown && p.selT.value === c.target,
        state: p.invOut.getAttribute("data-state"), value: p.invOut.getAttribute("data-value"),
        method: p.invOut.getAttribute("data-method"), binding: p.invOut.getAttribute("data-binding"),
        continuous: p.invOut.getAttribute("data-continuous"),
        text: p.invOut.textContent });
    }
    for (const c of (C.scorecard || [])) {
      const card = M.scorecard;
      for (const n in card.inputs) card.inputs[n].box.value = String(card.inputs[n].spec.value);
      setBoxes(card.inputs, c.inputs);
      out.scorecard.push({ results: card.results || null, text: card.body.textContent,
        verdict: (card.body.querySelector(".verdict") || { getAttribute: function () { return null; } }).getAttribute("data-verdict") });
    }
    for (const c of (C.pickers || [])) {
      for (const k in c.choice) {
        const sel = document.getElementById("pick-" + k);
        sel.value = c.choice[k]; fire(sel, "change");
      }
      const p = panel(c.set);
      const r = { values: {}, sources: {}, note: document.getElementById("picker-note").textContent };
      for (const n in p.inputs) {
        r.values[n] = p.inputs[n].box.value;
        r.sources[n] = p.inputs[n].row.title;
      }
      out.pickers.push(r);
    }
    for (const p of api.panels) {
      const maths = Array.prototype.slice.call(p.sec.querySelectorAll(".eq math"));
      out.mathml[p.set] = {
        count: maths.length,
        mathml_elements: maths.filter(function (m) { return typeof MathMLElement !== "undefined" && m instanceof MathMLElement; }).length,
        rendered: maths.filter(function (m) { const b = m.getBoundingClientRect(); return b.width > 0 && b.height > 0; }).length,
        fractions: p.sec.querySelectorAll(".eq math mfrac").length
      };
    }
    out.plots = Array.prototype.slice.call(document.querySelectorAll(".plot-host")).map(function (h) {
      return { title: h.getAttribute("data-plot"), paths: h.querySelectorAll("path").length, points: h.querySelectorAll("circle").length };
    });
  } catch (e) {
    out.errors.push(String(e && e.stack || e));
  }
  const pre = document.createElement("pre");
  pre.id = "selftest-results";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
