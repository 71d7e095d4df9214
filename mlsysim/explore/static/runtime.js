/* mlsysim explorer runtime: generic code only.
 *
 * No relation between quantities is written here. Every formula this page evaluates is a compiled
 * function in MLSYSIM.F, printed by sympy from the equation sets (see the "mlsysim:compiled" comments
 * above each one). This file converts units with factors pint computed at generation time, checks
 * domains, combines regime branches by max/min as the engine does, finds bracketed numeric roots,
 * and draws the page.
 */
(function () {
  "use strict";
  const M = window.MLSYSIM;
  const F = M.F;
  const D = M.data;
  const VARS = D.variables;
  const COUNT_TOL = D.count_tol, EDGE_TOL = D.edge_tol, ACCEPT_RTOL = D.accept_rtol;

  // ------------------------------------------------------------------ numbers and units
  function fmtNum(x, digits) {
    digits = digits || 4;
    if (!isFinite(x)) return String(x);
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (Number.isInteger(x) && a < 1e15) return x.toLocaleString("en-US");
    if (a >= 1e-3 && a < 1e6) return String(Number(x.toPrecision(digits)));
    return x.toExponential(digits - 1).replace("e+", "e");
  }
  function unitText(u) { return u ? u.replace(/\*\*/g, "^").replace(/\*/g, "\u00b7") : ""; }
  function fmtQ(base, name, unit) {
    const u = unit || D.units[name];
    const f = D.from_base[name + "|" + u];
    const v = f === undefined ? base : base * f;
    return fmtNum(v) + (u ? " " + unitText(u) : "");
  }

  // ------------------------------------------------------------------ domains (Domain.contains)
  function contains(d, x, whole) {  // the engine's Domain.contains, from the bounds exported with the data
    const dom = D.domains[d];
    if (whole === undefined) whole = dom.integer;
    if (!isFinite(x)) return false;
    if (dom.lower !== null) {
      const slack = dom.lower === 0 ? 0 : (dom.integer ? COUNT_TOL : EDGE_TOL) * Math.max(1, Math.abs(dom.lower));
      if (dom.lower_open ? !(x > dom.lower) : !(x >= dom.lower - slack)) return false;
    }
    if (dom.upper !== null && x > dom.upper * (1 + EDGE_TOL)) return false;
    return !whole || Math.abs(x - Math.round(x)) <= COUNT_TOL * Math.max(1, Math.abs(x));
  }
  function checkInput(name, x) {
    const d = VARS[name].domain;
    return contains(d, x) ? null : name + " must be " + D.domains[d].text + "; got " + x;
  }
  function inDomainSolve(d, x) { return contains(d, x, false); }  // a continuous root, rounded later

  // ------------------------------------------------------------------ forward evaluation
  function combine(outs, how) {  // the engine's _combine: value and index of the binding regime
    if (outs.length === 2) {
      const a = outs[0], b = outs[1];
      if (how === "max") return b > a ? [b, 1] : [a, 0];
      return b < a ? [b, 1] : [a, 0];
    }
    let idx = 0;
    for (let i = 1; i < outs.length; i++) {
      if (how === "max" ? outs[i] > outs[idx] : outs[i] < outs[idx]) idx = i;
    }
    return [outs[idx], idx];
  }

  function evalEquation(eq, x) {
    if (!eq.regimes) return [F[eq.fns[0]](x), null];
    const outs = eq.fns.map(function (f) { return F[f](x); });
    const r = combine(outs, eq.combine);
    return [r[0], eq.regimes[r[1]]];
  }

  /* Evaluate a set from base-unit magnitudes. strict: check outputs as EquationSet.evaluate does;
   * names in `skip` are taken as given (overrides); equations whose arguments are missing are skipped. */
  function evaluateSet(setName, given, opts) {
    opts = opts || {};
    const set = D.sets[setName];
    const x = Object.assign({}, given);
    const regimes = {};
    for (const n of (opts.order || set.order)) {
      if (n in given) continue;
      const eq = set.equations[n];
      if (!eq.args.every(function (a) { return a in x; })) continue;
      const r = evalEquation(eq, x);
      const v = r[0];
      if (opts.strict) {
        if (!isFinite(v)) {
          return { error: setName + ": " + n + " (" + eq.key + ") came out " + v + "; check the inputs' magnitudes", values: x, regimes: regimes };
        }
        if (checkInput(n, v)) {
          return { error: setName + ": " + n + " (" + eq.key + ") came out " + fmtNum(v) + ", outside its domain (" +
            D.domains[VARS[n].domain].text + "): the inputs are inconsistent with each other", values: x, regimes: regimes };
        }
      }
      x[n] = v;
      if (r[1] !== null) regimes[n] = r[1];
    }
    return { values: x, regimes: regimes, error: null };
  }

  // ------------------------------------------------------------------ inverse (EquationSet.solve, scalar)
  function geomspace(lo, hi, n) {
    const a = Math.log10(lo), b = Math.log10(hi), out = [];
    for (let i = 0; i < n; i++) out.push(i === 0 ? lo : i === n - 1 ? hi : Math.pow(10, a + (b - a) * i / (n - 1)));
    return out;
  }
  function gridFor(d) {  // the engine's _grid_for
    if (d === "fraction") {  // log-spaced towards 0 and towards 1, as numeric.py
      const g = geomspace(1e-12, 1.0, 121).concat(geomspace(1e-12, 0.5, 61).map((x) => 1.0 - x));
      return Array.from(new Set(g)).sort((a, b) => a - b);
    }
    const lo = (d === "ge1" || d === "count") ? 1.0 : 1e-40;
    const g = geomspace(lo, 1e40, 321);
    if (d === "nonnegative" || d === "count0") g.unshift(0.0);
    return g;
  }
  function numericRoots(f, target, d) {  // the engine's _numeric_roots_scalar
    function resid(u) { const v = f(u); return isFinite(v) ? v - target : NaN; }
    const roots = [], tol = ACCEPT_RTOL * Math.abs(target);
    let prevU = null, prevR = null;
    for (const g of gridFor(d)) {
      const r = resid(g);
      if (isFinite(r) && (r === 0 || (prevU === null && Math.abs(r) <= tol))) {
        if (prevR === null || prevR !== 0) roots.push(g);
      } else if (prevR !== null && isFinite(r) && isFinite(prevR) && prevR !== 0) {
        if ((r > 0) !== (prevR > 0)) {
          let a = prevU, b = g, ra = prevR;
          for (let i = 0; i < 200; i++) {
            const m = a > 0 ? Math.sqrt(a * b) : 0.5 * (a + b);
            const rm = resid(m);
            if (!isFinite(rm)) break;
            if ((rm > 0) === (ra > 0)) { a = m; ra = rm; } else { b = m; }
            if (Math.abs(b - a) <= 1e-15 * Math.abs(b)) break;
          }
          roots.push(0.5 * (a + b));
        }
      }
      prevU = g; prevR = r;
    }
    return roots.filter(function (r) { return Math.abs(resid(r)) <= Math.max(tol, 1e-300); });
  }

  function solve(setName, unknown, target, knowns, targetValue, limit) {
    limit = limit || "max";
    const set = D.sets[setName];
    const plan = set.inverses[unknown + "|" + target];
    if (!plan) return { error: target + " does not depend on " + unknown + " in " + setName };
    const d = VARS[unknown].domain;
    function forwardAt(u) {
      const g = Object.assign({}, knowns);
      g[unknown] = u;
      return evaluateSet(setName, g);
    }
    function f(u) { return forwardAt(u).values[target]; }
    const tol = ACCEPT_RTOL * Math.abs(targetValue);
    let chosen = null, alternatives = [], method = "";
    if (plan.kind === "symbolic") {
      const env = Object.assign({}, knowns);
      env[target] = targetValue;
      const sib = evaluateSet(setName, env, { order: plan.siblings }).values;
      for (const c of plan.candidates) {
        let u = F[c.fn](sib);
        if (typeof u !== "number") continue;
        if (isFinite(u) && u < 0 && (d === "nonnegative" || d === "count0")) u = 0.0;
        if (!isFinite(u) || !inDomainSolve(d, u)) continue;
        const got = f(u);
        if (isFinite(got) && Math.abs(got - targetValue) <= tol) {
          if (chosen === null) chosen = u;
          else if (Math.abs(u - chosen) > 1e-9 * Math.max(Math.abs(u), Math.abs(chosen))) alternatives.push(u);
        }
      }
      if (chosen !== null && (d === "count" || d === "count0") && chosen !== Math.round(chosen)) {
        const whole = alternatives.filter(function (a) { return Math.abs(a - Math.round(a)) <= 1e-9 * Math.max(1, Math.abs(a)); });
        if (whole.length) {
          alternatives = [chosen].concat(alternatives.filter(function (a) { return a !== whole[0]; }));
          chosen = whole[0];
        }
      }
      method = "closed form (compiled inverse)";
    }
    if (chosen === null) {
      const roots = numericRoots(f, targetValue, d);
      if (roots.length) { chosen = roots[0]; alternatives = roots.slice(1); method = "numeric (bracketed root)"; }
    }
    if (chosen === null) {
      // a target that no value of the unknown changes is under-determined, not infeasible
      const probes = { fraction: [0.25, 0.75], ge1: [1.5, 3.0] }[d] || [0.5, 2.0];
      const a = f(probes[0]), b = f(probes[1]);
      if (isFinite(a) && isFinite(b) && (a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)))) {
        return { infeasible: true, independent: true, binding: null,
          reason: target + " does not depend on " + unknown + " at these inputs (it is " + fmtQ(a, target) + " for any " + unknown + ")" };
      }
      return explain(plan, setName, unknown, target, knowns, targetValue);
    }
    const bound = boundKind(f, chosen, targetValue);
    const continuous = chosen;
    let note = "";
    if (D.domains[d].integer) {
      const r = roundCount(unknown, d, target, chosen, targetValue, f, limit, bound);
      if (r.infeasible) return r;
      chosen = r.value;
      note = r.note;
    }
    const at = forwardAt(chosen);
    return { value: chosen, continuous: continuous, note: note, alternatives: alternatives, method: method,
      regimes: at.regimes, values: at.values, bound: note ? "" : bound };
  }

  /* The engine's _round_count (scalar): a count answer goes to the neighbouring whole number that keeps the
   * target within its limit ("max": not exceeded; "min": reached). */
  function roundCount(unknown, d, t, x, tgt, f, limit, bound) {
    if (Math.abs(x - Math.round(x)) <= COUNT_TOL * Math.max(1, Math.abs(x))) return { value: Math.round(x), note: "" };
    const lower = D.domains[d].lower === null ? -Infinity : D.domains[d].lower;
    const lo = Math.max(Math.floor(x), lower), hi = Math.max(Math.ceil(x), lower);
    const fLo = f(lo), fHi = f(hi), slack = 1e-12 * Math.abs(tgt);
    const mLo = isFinite(fLo) && (limit === "max" ? fLo <= tgt + slack : fLo >= tgt - slack);
    const mHi = isFinite(fHi) && (limit === "max" ? fHi <= tgt + slack : fHi >= tgt - slack);
    const increasing = fHi >= fLo;
    const pickHi = bound === "min" ? mHi : bound === "max" ? (!mLo && mHi) : (mHi && (!mLo || increasing));
    const word = limit === "max" ? "at most" : "at least";
    if (!(mLo || mHi)) {
      return { infeasible: true, binding: "whole " + unknown,
        reason: "no whole " + unknown + " meets " + t + " " + word + " " + fmtQ(tgt, t) + ": the exact answer is " +
          fmtNum(x, 6) + ", and " + lo + " gives " + fmtQ(fLo, t) + ", " + hi + " gives " + fmtQ(fHi, t) };
    }
    const out = pickHi ? hi : lo;
    return { value: out, note: unknown + " = " + fmtNum(x, 6) + " meets " + t + " exactly; rounded to the whole number " +
      out + ", which gives " + t + " = " + fmtQ(pickHi ? fHi : fLo, t) + " (" + word + " the target)" };
  }

  function boundKind(f, u, tg) {  // the engine's _bound_kind
    const eps = 1e-6, up = f(u * (1 + eps)), dn = f(u * (1 - eps));
    if (!isFinite(up) || !isFinite(dn)) return "";
    const fu = Math.abs(up - tg) <= 1e-12 * Math.abs(tg), fd = Math.abs(dn - tg) <= 1e-12 * Math.abs(tg);
    return fu && fd ? "any" : fu ? "min" : fd ? "max" : "";
  }

  function explain(plan, setName, unknown, target, knowns, tgt) {  // the engine's _explain / _binding
    const x = evaluateSet(setName, knowns).values;
    let bound = null, label = null, best = null, bestV = null;
    for (const fl of plan.floors) {
      const v = F[fl.fn](x);
      const lab = fl.label || "fixed part";
      if (bound === null || (plan.combine === "max" ? v > bound : v < bound)) { bound = v; label = lab; }
      if (bestV === null || v > bestV) { bestV = v; best = fl.binding; }  // the engine's InfeasibleError.binding
    }
    if (bound !== null && ((plan.combine === "max" && tgt < bound) || (plan.combine === "min" && tgt > bound))) {
      const word = plan.combine === "max" ? "floor" : "ceiling";
      return { infeasible: true, binding: best, floor: bound,
        reason: target + " = " + fmtQ(tgt, target) + " is unreachable by any " + unknown + ": the " + label + "-bound " +
          word + " of " + fmtQ(bound, target) + " does not depend on " + unknown + " (binding constraint: " + label + ")" };
    }
    return { infeasible: true, binding: best,
      reason: "no " + unknown + " in its domain (" + VARS[unknown].domain + ") gives " + target + " = " + fmtQ(tgt, target) };
  }

  // ------------------------------------------------------------------ DOM helpers
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const k in (attrs || {})) {
      if (k === "html") e.innerHTML = attrs[k];
      else if (k === "text") e.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    }
    for (const c of (children || [])) if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    return e;
  }

  // an input row: slider + number box in a display unit; value() returns base magnitude
  function inputRow(spec, onchange) {
    const row = el("tr", { "class": "input", "data-var": spec.name });
    const box = el("input", { type: "number", step: "any", "class": "num", "data-var": spec.name, "aria-label": spec.name });
    const slider = el("input", { type: "range", min: "0", max: "1000", step: "1", "class": "slider", tabindex: "-1", "aria-hidden": "true" });
    const err = el("span", { "class": "err" });
    const lo = spec.lo, hi = spec.hi, log = spec.scale === "log";
    function toSlider(v) {
      if (!(v > 0) && log) return 0;
      const t = log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
      return Math.round(1000 * Math.min(1, Math.max(0, t)));
    }
    function fromSlider(s) {
      const t = s / 1000;
      let v = log ? Math.exp(Math.log(lo) + t * (Math.log(hi) - Math.log(lo))) : lo + t * (hi - lo);
      if (spec.integer) v = Math.max(Math.round(v), spec.domain === "count" ? 1 : 0);
      else v = Number(v.toPrecision(3));
      return v;
    }
    box.addEventListener("input", function () { slider.value = toSlider(Number(box.value)); onchange(); });
    box.addEventListener("change", function () { slider.value = toSlider(Number(box.value)); onchange(); });
    slider.addEventListener("input", function () { box.value = fromSlider(Number(slider.value)); onchange(); });
    const vname = spec.checks_as || spec.name;
    const name = el("td", { "class": "name", title: VARS[vname].description }, [
      el("span", { "class": "sym", html: VARS[vname].symbol }), " ", el("code", { text: spec.label || spec.name })]);
    row.appendChild(name);
    row.appendChild(el("td", {}, [slider]));
    row.appendChild(el("td", {}, [box]));
    row.appendChild(el("td", { "class": "unit", text: unitText(spec.unit) }));
    row.appendChild(el("td", {}, [err]));
    const api = {
      name: spec.name, row: row, box: box, spec: spec,
      setDisplay: function (v) { box.value = String(v); slider.value = toSlider(v); },
      setBase: function (b) { const v = b * spec.from_base; api.setDisplay(Number(v.toPrecision(spec.unit ? 6 : 15))); },
      base: function () { return Number(box.value) * spec.to_base; },
      setSource: function (s) { row.title = s ? "source: " + s : ""; name.setAttribute("data-source", s || ""); },
      setError: function (m) { err.textContent = m || ""; row.classList.toggle("bad", !!m); }
    };
    api.setDisplay(spec.value);
    api.setSource(spec.source);
    return api;
  }

  // ------------------------------------------------------------------ SVG plots
  const SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function niceTicks(lo, hi, log) {
    const out = [];
    if (log) {
      for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) {
        const v = Math.pow(10, p);
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
      }
      return out;
    }
    const span = hi - lo, step0 = Math.pow(10, Math.floor(Math.log10(span / 5)));
    const step = [1, 2, 5, 10].map(function (m) { return m * step0; }).find(function (s) { return span / s <= 6; });
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12 * span; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }
  /* series: [{xs, ys, cls, label}], points: [{x, y, cls, label}], vlines: [{x, label}] (display units) */
  function drawPlot(host, p) {
    host.innerHTML = "";
    const W = 520, H = 300, L = 70, R = 16, T = 14, B = 46;
    const allX = [], allY = [];
    for (const s of p.series) s.xs.forEach(function (x, i) { if (isFinite(x) && isFinite(s.ys[i])) { allX.push(x); allY.push(s.ys[i]); } });
    for (const q of p.points) if (isFinite(q.x) && isFinite(q.y)) { allX.push(q.x); allY.push(q.y); }
    if (!allX.length) { host.textContent = "nothing to plot at these inputs"; return; }
    let x0 = Math.min.apply(null, allX), x1 = Math.max.apply(null, allX);
    let y0 = Math.min.apply(null, allY), y1 = Math.max.apply(null, allY);
    if (p.ylog) { y0 /= 2; y1 *= 2; } else { y0 = Math.min(0, y0); y1 = y1 * 1.08 || 1; }
    if (x0 === x1) { x0 /= 2; x1 *= 2; }
    const fx = function (x) { return L + (W - L - R) * (p.xlog ? Math.log(x / x0) / Math.log(x1 / x0) : (x - x0) / (x1 - x0)); };
    const fy = function (y) { return H - B - (H - T - B) * (p.ylog ? Math.log(y / y0) / Math.log(y1 / y0) : (y - y0) / (y1 - y0)); };
    const g = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "plot", role: "img", "aria-label": p.title });
    g.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, "class": "frame" }));
    for (const t of niceTicks(x0, x1, p.xlog)) {
      g.appendChild(svg("line", { x1: fx(t), x2: fx(t), y1: T, y2: H - B, "class": "grid" }));
      g.appendChild(svg("text", { x: fx(t), y: H - B + 16, "class": "tick", "text-anchor": "middle" }, fmtNum(t, 3)));
    }
    for (const t of niceTicks(y0, y1, p.ylog)) {
      g.appendChild(svg("line", { x1: L, x2: W - R, y1: fy(t), y2: fy(t), "class": "grid" }));
      g.appendChild(svg("text", { x: L - 6, y: fy(t) + 4, "class": "tick", "text-anchor": "end" }, fmtNum(t, 3)));
    }
    g.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 8, "class": "axis", "text-anchor": "middle" }, p.xlabel));
    g.appendChild(svg("text", { x: 14, y: (T + H - B) / 2, "class": "axis", "text-anchor": "middle",
      transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" }, p.ylabel));
    for (const v of (p.vlines || [])) {
      if (!(v.x >= x0 && v.x <= x1)) continue;
      g.appendChild(svg("line", { x1: fx(v.x), x2: fx(v.x), y1: T, y2: H - B, "class": "vline" }));
      g.appendChild(svg("text", { x: fx(v.x) + 4, y: T + 12, "class": "note" }, v.label));
    }
    for (const s of p.series) {
      let d = "";
      s.xs.forEach(function (x, i) {
        const y = s.ys[i];
        if (!isFinite(x) || !isFinite(y) || (p.ylog && y <= 0)) return;
        d += (d ? "L" : "M") + fx(x).toFixed(1) + "," + fy(y).toFixed(1);
      });
      if (d) g.appendChild(svg("path", { d: d, "class": "series " + (s.cls || "") }));
      if (s.label && s.xs.length) {
        const i = Math.floor(s.xs.length * 0.15);
        if (isFinite(s.ys[i]) && s.ys[i] >= y0 && s.ys[i] <= y1) {
          g.appendChild(svg("text", { x: fx(s.xs[i]) + 4, y: fy(s.ys[i]) - 6, "class": "note " + (s.cls || "") }, s.label));
        }
      }
    }
    for (const q of p.points) {
      if (!isFinite(q.x) || !isFinite(q.y)) continue;
      const c = svg("circle", { cx: fx(q.x), cy: fy(q.y), r: q.r || 5, "class": "point " + (q.cls || "") });
      c.appendChild(svg("title", {}, q.label || ""));
      g.appendChild(c);
      if (q.text) g.appendChild(svg("text", { x: fx(q.x) + 8, y: fy(q.y) + 14, "class": "note" }, q.text));
    }
    if (p.legend) {
      let y = T + 14;
      for (const it of p.legend) {
        g.appendChild(svg("circle", { cx: W - R - 110, cy: y - 4, r: 4, "class": "point " + it.cls }));
        g.appendChild(svg("text", { x: W - R - 100, y: y, "class": "note" }, it.label));
        y += 15;
      }
    }
    host.appendChild(g);
  }

  function dispVal(name, base) { return base * D.from_base[name + "|" + D.units[name]]; }
  function dispLabel(name) { return name + (D.units[name] ? " [" + unitText(D.units[name]) + "]" : ""); }

  // plot kinds: "override" sweeps a (derived) variable through one equation; "sweep" re-evaluates the set
  function renderPlot(host, set, spec, values, regimes) {
    const xs = [], series = [], points = [];
    const cur = values[spec.x];
    if (spec.kind === "override") {
      const eq = set.equations[spec.y];
      const ref = spec.ref ? values[spec.ref] : cur;
      const lo = Math.min(cur, ref) / 100, hi = Math.max(cur, ref) * 100;
      const xsb = geomspace(lo, hi, 121);
      const branches = (eq.regimes || []).map(function () { return []; });
      const ys = [];
      for (const xb of xsb) {
        const env = Object.assign({}, values);
        env[spec.x] = xb;
        ys.push(dispVal(spec.y, evalEquation(eq, env)[0]));
        eq.fns.forEach(function (f, i) { if (eq.regimes) branches[i].push(dispVal(spec.y, F[f](env))); });
        xs.push(dispVal(spec.x, xb));
      }
      (eq.regimes || []).forEach(function (r, i) { series.push({ xs: xs, ys: branches[i], cls: "branch", label: r + " roof" }); });
      series.push({ xs: xs, ys: ys, cls: "main" });
      points.push({ x: dispVal(spec.x, cur), y: dispVal(spec.y, values[spec.y]), cls: regimes[spec.y] || "",
        label: "workload: " + fmtQ(cur, spec.x) + ", " + fmtQ(values[spec.y], spec.y) + " (" + (regimes[spec.y] || "") + "-bound)",
        text: "workload (" + (regimes[spec.y] || "") + "-bound)" });
      drawPlot(host, { title: spec.title, xlog: true, ylog: true, series: series, points: points,
        vlines: spec.ref ? [{ x: dispVal(spec.ref, ref), label: spec.ref + " " + fmtQ(ref, spec.ref) }] : [],
        xlabel: dispLabel(spec.x), ylabel: dispLabel(spec.y) });
      return;
    }
    // sweep: re-evaluate the whole set with the input spec.x set to each grid value
    const grid = [];
    for (let v = spec.lo; v <= spec.hi; v *= 2) grid.push(v);
    if (grid.indexOf(cur) < 0) grid.push(cur);
    grid.sort(function (a, b) { return a - b; });
    const given = {};
    for (const n of set.inputs) given[n] = values[n];
    for (const y of spec.ys) {
      const ys = [], xsy = [];
      for (const g of grid) {
        const env = Object.assign({}, given);
        env[spec.x] = g;
        const r = evaluateSet(set.name, env);
        xsy.push(dispVal(spec.x, g));
        ys.push(dispVal(y, r.values[y]));
        points.push({ x: dispVal(spec.x, g), y: dispVal(y, r.values[y]), r: g === cur ? 7 : 3.5,
          cls: (r.regimes[y] || "") + (g === cur ? " current" : ""),
          label: spec.x + " = " + fmtNum(g) + ": " + y + " = " + fmtQ(r.values[y], y) + " (" + (r.regimes[y] || "") + "-bound)" });
      }
      series.push({ xs: xsy, ys: ys, cls: "main" });
    }
    const eqy = set.equations[spec.ys[0]];
    drawPlot(host, { title: spec.title, xlog: true, ylog: !!spec.ylog, series: series, points: points,
      legend: (eqy.regimes || []).map(function (r) { return { cls: r, label: r + "-bound" }; }),
      xlabel: dispLabel(spec.x), ylabel: spec.ys.map(dispLabel).join(", ") });
  }

  // ------------------------------------------------------------------ panels
  const panels = [];

  function buildPanel(root, setName) {
    const set = D.sets[setName];
    const spec = D.panels[setName];
    const sec = el("section", { "class": "panel", id: "panel-" + setName, "data-set": setName });
    sec.appendChild(el("h2", { text: setName }));
    sec.appendChild(el("p", { "class": "desc", text: set.description }));
    const grid = el("div", { "class": "cols" });
    const left = el("div", { "class": "col" }), right = el("div", { "class": "col" });
    grid.appendChild(left); grid.appendChild(right); sec.appendChild(grid);
    left.appendChild(el("h3", { text: "Inputs" }));
    const itab = el("table", { "class": "inputs" });
    left.appendChild(itab);
    const inputs = {};
    const panel = { set: setName, inputs: inputs, outputs: {}, sec: sec };
    for (const s of spec.inputs) {
      const r = inputRow(s, function () { update(panel); });
      inputs[s.name] = r;
      itab.appendChild(r.row);
    }
    const status = el("p", { "class": "status" });
    left.appendChild(status);
    panel.status = status;
    right.appendChild(el("h3", { text: "Outputs" }));
    const otab = el("table", { "class": "outputs" });
    right.appendChild(otab);
    for (const n of set.derived) {
      const val = el("span", { "class": "val", "data-var": n, "data-unit": D.units[n] });
      const reg = el("span", { "class": "regime", "data-var": n });
      otab.appendChild(el("tr", { "data-var": n, title: VARS[n].description }, [
        el("td", { "class": "name" }, [el("span", { "class": "sym", html: VARS[n].symbol }), " ", el("code", { text: n })]),
        el("td", { "class": "value" }, [val]), el("td", {}, [reg])]));
      panel.outputs[n] = { val: val, reg: reg };
    }
    // plots
    panel.plots = [];
    for (const p of (spec.plots || [])) {
      const fig = el("figure", { "class": "fig" });
      const host = el("div", { "class": "plot-host", "data-plot": p.title });
      fig.appendChild(host);
      fig.appendChild(el("figcaption", { text: p.title }));
      right.appendChild(fig);
      panel.plots.push({ host: host, spec: p });
    }
    // inverse mode
    const inv = el("div", { "class": "inverse" });
    inv.appendChild(el("h3", { text: "Inverse: solve for an input" }));
    const selU = el("select", { "class": "inv-unknown", "aria-label": "unknown" });
    const selT = el("select", { "class": "inv-target", "aria-label": "target" });
    const tbox = el("input", { type: "number", step: "any", "class": "inv-value", "aria-label": "target value" });
    const tunit = el("span", { "class": "unit" });
    const selL = el("select", { "class": "inv-limit", "aria-label": "limit",
      title: "how a whole-number answer is rounded: the target read as an upper or a lower limit" });
    selL.appendChild(el("option", { value: "max", text: "at most" }));
    selL.appendChild(el("option", { value: "min", text: "at least" }));
    const limWrap = el("label", { "class": "inv-limit-wrap" }, ["(", selL, " for a whole number)"]);
    const go = el("button", { type: "button", "class": "inv-solve", text: "Solve" });
    const apply = el("button", { type: "button", "class": "inv-apply", text: "Use this value", disabled: "disabled" });
    const out = el("div", { "class": "inv-result", "aria-live": "polite" });
    for (const u of set.inputs) {
      if (Object.keys(set.inverses).some(function (k) { return k.indexOf(u + "|") === 0; })) selU.appendChild(el("option", { value: u, text: u }));
    }
    function fillTargets() {
      // the limit only decides how a count is rounded: shown for whole-number unknowns
      limWrap.style.display = selU.value && D.domains[VARS[selU.value].domain].integer ? "" : "none";
      selT.innerHTML = "";
      for (const k in set.inverses) {
        const pr = k.split("|");
        if (pr[0] === selU.value) selT.appendChild(el("option", { value: pr[1], text: pr[1] }));
      }
      fillValue();
    }
    function fillValue() {
      const t = selT.value;
      tunit.textContent = unitText(D.units[t]);
      const v = panel.last && panel.last.values[t];
      if (v !== undefined) tbox.value = String(Number(dispVal(t, v).toPrecision(6)));
    }
    selU.addEventListener("change", fillTargets);
    selT.addEventListener("change", fillValue);
    go.addEventListener("click", function () { runInverse(panel); });
    apply.addEventListener("click", function () {
      if (panel.solution && panel.solution.value !== undefined) {
        inputs[selU.value].setBase(panel.solution.value);
        update(panel);
      }
    });
    inv.appendChild(el("div", { "class": "inv-row" }, [el("label", {}, ["unknown ", selU]), el("label", {}, [" so that ", selT]),
      el("label", {}, [" = ", tbox]), " ", tunit, " ", limWrap, " ", go, " ", apply]));
    inv.appendChild(out);
    left.appendChild(inv);
    Object.assign(panel, { selU: selU, selT: selT, selL: selL, tbox: tbox, invOut: out, applyBtn: apply, fillTargets: fillTargets });
    // equations
    const eqs = el("details", { "class": "equations", open: "open" });
    eqs.appendChild(el("summary", { text: "Equations (" + set.derived.length + ")" }));
    for (const n of set.order) {
      const e = set.equations[n];
      eqs.appendChild(el("div", { "class": "eq", "data-key": e.key, title: e.description }, [
        el("div", { "class": "math", html: e.mathml }),
        el("div", { "class": "src", text: e.key + ": " + e.description + ". Source: " + e.source })]));
    }
    sec.appendChild(eqs);
    root.appendChild(sec);
    panels.push(panel);
    update(panel);
    if (spec.inverse_default && set.inverses[spec.inverse_default.slice(0, 2).join("|")]) selU.value = spec.inverse_default[0];
    fillTargets();
    if (spec.inverse_default && set.inverses[spec.inverse_default.slice(0, 2).join("|")]) {
      selT.value = spec.inverse_default[1];
      fillValue();
      // open on a question rather than on today's value: the target scaled, to two significant digits
      if (spec.inverse_default[2]) tbox.value = String(Number((Number(tbox.value) * spec.inverse_default[2]).toPrecision(2)));
      runInverse(panel);
    }
    return panel;
  }

  function readInputs(panel) {
    const given = {};
    let error = null;
    for (const n in panel.inputs) {
      const inp = panel.inputs[n];
      const b = inp.base();
      const m = panel.inputs[n].box.value === "" ? n + " is empty" : checkInput(n, b);
      inp.setError(m);
      if (m && !error) error = m;
      given[n] = b;
    }
    return { given: given, error: error };
  }

  function update(panel) {
    const rd = readInputs(panel);
    let r = rd.error ? { error: rd.error, values: rd.given, regimes: {} } : evaluateSet(panel.set, rd.given, { strict: true });
    panel.last = r;
    panel.status.textContent = r.error ? r.error : "";
    panel.sec.classList.toggle("has-error", !!r.error);
    for (const n in panel.outputs) {
      const o = panel.outputs[n];
      const v = r.error ? undefined : r.values[n];
      if (v === undefined) {
        o.val.textContent = "\u2014"; o.val.setAttribute("data-value", ""); o.reg.textContent = "";
        continue;
      }
      const dv = dispVal(n, v);
      o.val.setAttribute("data-value", String(dv));
      o.val.setAttribute("data-base", String(v));
      o.val.textContent = fmtNum(dv) + (D.units[n] ? " " + unitText(D.units[n]) : "");
      o.val.title = String(dv) + " " + unitText(D.units[n]);
      const reg = r.regimes[n] || "";
      o.reg.textContent = reg ? reg + "-bound" : "";
      o.reg.className = "regime " + reg;
      o.reg.setAttribute("data-regime", reg);
    }
    for (const p of (panel.plots || [])) {
      if (r.error) { p.host.textContent = "no plot: " + r.error; continue; }
      renderPlot(p.host, D.sets[panel.set], p.spec, r.values, r.regimes);
    }
    if (panel.solved && !r.error) runInverse(panel);  // the inverse answer follows the inputs live
  }

  function runInverse(panel) {
    const u = panel.selU.value, t = panel.selT.value;
    const rd = readInputs(panel);
    const knowns = Object.assign({}, rd.given);
    delete knowns[u];
    const tv = Number(panel.tbox.value) * D.to_base[t + "|" + D.units[t]];
    const out = panel.invOut;
    out.innerHTML = "";
    panel.solution = null;
    panel.applyBtn.setAttribute("disabled", "disabled");
    let res;
    if (!(isFinite(tv)) || checkInput(t, tv)) res = { error: "target " + t + " must be " + D.domains[VARS[t].domain].text };
    else res = solve(panel.set, u, t, knowns, tv, panel.selL.value);
    panel.solution = res;
    panel.solved = true;
    out.setAttribute("data-state", res.error ? "error" : res.infeasible ? "infeasible" : "solved");
    if (res.error) { out.appendChild(el("p", { "class": "bad", text: res.error })); return res; }
    if (res.infeasible) {
      out.setAttribute("data-binding", res.binding || "");
      out.appendChild(el("p", { "class": "bad", text: "Infeasible: " + res.reason }));
      return res;
    }
    const dv = dispVal(u, res.value);
    out.setAttribute("data-value", String(dv));
    out.setAttribute("data-base", String(res.value));
    out.setAttribute("data-method", res.method);
    out.setAttribute("data-continuous", String(dispVal(u, res.continuous)));
    const regs = Object.keys(res.regimes).map(function (k) { return k + ": " + res.regimes[k]; }).join(", ");
    const notes = { min: "a minimum: any larger " + u + " also meets the target", max: "a maximum: any smaller " + u + " also meets the target",
      any: t + " does not depend on " + u + " here" };
    out.appendChild(el("p", {}, [el("strong", { text: u + " = " + fmtQ(res.value, u) }), " via " + res.method]));
    if (regs) out.appendChild(el("p", { "class": "small", text: "regimes at the solution: " + regs }));
    if (res.bound) out.appendChild(el("p", { "class": "small", text: notes[res.bound] }));
    if (res.note) out.appendChild(el("p", { "class": "small", text: res.note }));
    if (res.alternatives.length) out.appendChild(el("p", { "class": "small", text: "also met by " + res.alternatives.map(function (a) { return fmtQ(a, u); }).join(", ") }));
    panel.applyBtn.removeAttribute("disabled");
    return res;
  }

  // ------------------------------------------------------------------ registry pickers
  const choice = Object.assign({}, D.pickers.defaults);
  function applyPickers() {
    const msgs = [];
    for (const p of panels) {
      const table = D.pickers.tables[p.set];
      if (!table) continue;
      for (const n in table) {
        const inp = p.inputs[n];
        if (!inp) continue;
        const t = table[n];
        const key = t.by.map(function (f) { return choice[f]; }).join("|");
        const v = t.values[key];
        if (!v) { msgs.push(n + " (" + p.set + ") has no registry value for this choice; kept " + inp.box.value); continue; }
        inp.setBase(v[0]);
        inp.setSource(D.pickers.sources[v[1]]);
      }
      update(p);
      p.fillTargets();
    }
    const note = document.getElementById("picker-note");
    if (note) note.textContent = msgs.join("; ");
  }
  function buildPickers(host) {
    for (const kind of ["model", "hardware", "precision"]) {
      const sel = el("select", { id: "pick-" + kind, "aria-label": kind });
      for (const k of D.pickers.choices[kind]) {
        const o = el("option", { value: k, text: D.pickers.labels[kind][k] });
        if (k === choice[kind]) o.setAttribute("selected", "selected");
        sel.appendChild(o);
      }
      sel.addEventListener("change", function () { choice[kind] = sel.value; applyPickers(); });
      host.appendChild(el("label", {}, [kind + " ", sel]));
    }
    host.appendChild(el("span", { id: "picker-note", "class": "small" }));
  }

  // ------------------------------------------------------------------ scenario scorecard
  function buildScorecard(root) {
    const sc = D.scenario;
    const sec = el("section", { "class": "panel scorecard", id: "scorecard" });
    sec.appendChild(el("h2", { text: "Scenario: " + sc.title }));
    sec.appendChild(el("p", { "class": "desc", text: sc.description }));
    const cols = el("div", { "class": "cols" });
    const left = el("div", { "class": "col" }), right = el("div", { "class": "col" });
    cols.appendChild(left); cols.appendChild(right); sec.appendChild(cols);
    left.appendChild(el("h3", { text: "Move the scenario" }));
    const tab = el("table", { "class": "inputs" });
    const inputs = {};
    const card = { inputs: inputs };
    for (const s of sc.inputs) {
      const r = inputRow(s, function () { updateScorecard(card); });
      inputs[s.name] = r;
      tab.appendChild(r.row);
    }
    left.appendChild(tab);
    card.body = el("div", { "class": "levels", "aria-live": "polite" });
    right.appendChild(card.body);
    root.appendChild(sec);
    updateScorecard(card);
    M.scorecard = card;
  }

  function updateScorecard(card) {
    const sc = D.scenario;
    const knowns = {};
    for (const s in sc.knowns) knowns[s] = Object.assign({}, sc.knowns[s]);
    const limits = {};
    let error = null;
    for (const s of sc.inputs) {
      const inp = card.inputs[s.name];
      const b = inp.base();
      const m = checkInput(s.checks_as, b);
      inp.setError(m);
      if (m && !error) error = m;
      for (const tg of s.targets) {
        if (tg[0] === "limit") limits[tg[1]] = b;
        else knowns[tg[0]][tg[1]] = b;
      }
    }
    const vals = {};
    for (const s in knowns) {
      const r = evaluateSet(s, knowns[s], { strict: true });
      if (r.error && !error) error = r.error;
      vals[s] = r.values;
    }
    card.body.innerHTML = "";
    if (error) { card.body.appendChild(el("p", { "class": "bad", text: error })); return; }
    const results = [];
    let verdict = true;
    for (const lvl of [1, 2, 3]) {
      const checks = sc.checks.filter(function (c) { return c.level === lvl; });
      const box = el("div", { "class": "level", "data-level": String(lvl) });
      box.appendChild(el("h3", { text: "Level " + lvl + ": " + sc.level_titles[lvl] }));
      for (const c of checks) {
        if (c.static) {
          box.appendChild(el("div", { "class": "check " + c.status.toLowerCase(), "data-check": c.name, "data-status": c.status },
            [el("span", { "class": "badge", text: c.status }), " ", c.static, el("span", { "class": "small", text: " (as evaluated in Python)" })]));
          if (c.status === "FAIL") verdict = false;
          continue;
        }
        const v = vals[c.set][c.var];
        const limit = c.limit_input ? limits[c.limit_input] : c.limit;
        const passed = limit === null || limit === undefined ? null : v <= limit;
        if (passed === false) verdict = false;
        const status = passed === null ? "INFO" : passed ? "PASS" : "FAIL";
        const unit = c.unit;
        const txt = c.label + ": " + fmtQ(v, c.var, unit) + (limit !== null && limit !== undefined ? " (target " + fmtQ(limit, c.var, unit) + ")" : "");
        const line = el("div", { "class": "check " + status.toLowerCase(), "data-check": c.name, "data-status": status,
          "data-base": String(v), title: c.source ? "target source: " + c.source : "" }, [
          el("span", { "class": "badge", text: status }), " ", txt]);
        if (passed === false) {
          const ratio = v / limit;
          line.appendChild(el("span", { "class": "small", text: " exceeds the target " + (ratio < 10 ? "by " + Math.round(100 * (ratio - 1)) + "%" : "by " + fmtNum(ratio, 3) + "x") }));
        }
        box.appendChild(line);
        results.push({ name: c.name, status: status, base: v });
      }
      card.body.appendChild(box);
    }
    card.body.appendChild(el("p", { "class": "verdict " + (verdict ? "pass" : "fail"), "data-verdict": verdict ? "PASS" : "FAIL",
      text: "Verdict: " + (verdict ? "PASS" : "FAIL") }));
    card.results = results;
  }

  // ------------------------------------------------------------------ start
  function start() {
    const pick = document.getElementById("pickers");
    if (pick && D.pickers && Object.keys(D.pickers.tables).length) buildPickers(pick);
    else if (pick) pick.remove();
    const root = document.getElementById("panels");
    for (const s of D.panel_order) buildPanel(root, s);
    if (D.scenario) buildScorecard(document.getElementById("scenario"));
    M.ready = true;
  }
  M.api = { evaluateSet: evaluateSet, solve: solve, panels: panels, runInverse: runInverse, update: update,
    updateScorecard: updateScorecard, applyPickers: applyPickers, choice: choice };
  start();
})();
