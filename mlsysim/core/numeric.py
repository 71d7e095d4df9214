"""Numeric root finding for inverses without a closed form (vectorised bracketing + bisection), and the
domain tests used to accept a candidate value."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .domains import DOMAIN
from .variables import Var

ACCEPT_RTOL = 1e-7



def _in_domain_scalar(d, x: float) -> bool:
    """Is ``x`` in domain ``d`` (a Domain or its name)? Counts are not required whole here: a continuous
    root is accepted, then rounded by the inverse."""
    return DOMAIN[d].contains(x, whole=False)


def _in_domain(v: Var, x):
    """Elementwise :func:`_in_domain_scalar` for an array."""
    return v.domain.contains(np.asarray(x, dtype=float), whole=False)


def _numeric_root(f, target, uvar: Var, shape):
    """Vectorised bracketed root finding of ``f(u) = target`` over ``uvar``'s domain.

    A log-spaced scan brackets the first sign change, then bisection in log space narrows it to
    machine precision. Returns (values with NaN where no root, found mask).
    """
    target = np.broadcast_to(np.asarray(target, dtype=float), shape)
    grid = _grid_for(uvar)
    prev_u: Any = None
    prev_r: Any = None
    lo_b = np.full(shape, np.nan)
    hi_b = np.full(shape, np.nan)
    found = np.zeros(shape, dtype=bool)
    with np.errstate(all="ignore"):
        for g in grid:
            u = np.full(shape, g)
            try:
                r = np.broadcast_to(np.asarray(f(u), dtype=float), shape) - target
            except (ZeroDivisionError, OverflowError, FloatingPointError):
                r = np.full(shape, np.nan)
            if prev_r is not None:
                change = ~found & np.isfinite(r) & np.isfinite(prev_r) & ((np.sign(r) != np.sign(prev_r)) | (r == 0))
                lo_b = np.where(change, prev_u, lo_b)
                hi_b = np.where(change, u, hi_b)
                found |= change
            prev_u, prev_r = u, r
            if found.all():
                break
        if not found.any():
            return np.full(shape, np.nan) if shape else np.nan, found
        a = np.where(found, lo_b, 1.0)
        b = np.where(found, hi_b, 1.0)
        ra = np.broadcast_to(np.asarray(f(a), dtype=float), shape) - target
        for _ in range(200):
            m = np.where(a > 0, np.sqrt(a * b), 0.5 * (a + b))
            rm = np.broadcast_to(np.asarray(f(m), dtype=float), shape) - target
            left = np.sign(rm) == np.sign(ra)
            a = np.where(left, m, a)
            ra = np.where(left, rm, ra)
            b = np.where(left, b, m)
            if np.all(np.abs(b - a) <= 1e-15 * np.abs(b)):
                break
        root = np.where(found, 0.5 * (a + b), np.nan)
    return root, found


def _grid_for(uvar: Var):
    if uvar.domain == "fraction":
        # log-spaced towards 0 and towards 1 (a relation may be singular at exactly 1, e.g. (1 - a^n)/(1 - a))
        return np.unique(np.concatenate([np.geomspace(1e-12, 1.0, 121), 1.0 - np.geomspace(1e-12, 0.5, 61)]))
    lo = 1.0 if uvar.domain in ("ge1", "count") else 1e-40
    grid = np.geomspace(lo, 1e40, 321)
    if uvar.domain in ("nonnegative", "count0"):
        grid = np.concatenate([[0.0], grid])
    return grid


def _with_finite_edges(grid, resid, steps: int = 80):
    """The scan points ``(u, resid(u))``, plus the edges of the region where ``resid`` is finite.

    A relation can be defined on part of the domain only (an M/M/c queue is stable only while the
    utilisation is < 1, and its waiting time grows without bound at that edge): a root between the last
    finite grid point and the edge would never be bracketed by the grid alone. Where ``resid`` turns
    from finite to non-finite (or back) between two grid points, bisection (in log space) finds the last
    finite point, which joins the scan.
    """
    pts = [(float(g), resid(float(g))) for g in grid]
    out = []
    for (u0, r0), (u1, r1) in zip(pts, pts[1:]):
        out.append((u0, r0))
        if math.isfinite(r0) != math.isfinite(r1) and u0 > 0:
            good, bad = (u0, u1) if math.isfinite(r0) else (u1, u0)
            for _ in range(steps):
                m = math.sqrt(good * bad)
                if m in (good, bad):
                    break
                if math.isfinite(resid(m)):
                    good = m
                else:
                    bad = m
            out.append((good, resid(good)))
    out.append(pts[-1])
    out.sort(key=lambda p: p[0])
    return out


def _numeric_roots_scalar(f, target: float, uvar: Var):
    """Every root of ``f(u) = target`` that a log-spaced scan brackets, refined by bisection.

    Returns (smallest root or NaN, found, [other roots]) so that a non-monotonic relation reports
    all the values of the unknown that meet the target, not only the first one found.
    """
    def resid(u):
        try:
            with np.errstate(all="ignore"):
                return float(f(u)) - target
        except (ZeroDivisionError, OverflowError, FloatingPointError, ValueError, TypeError):
            return math.nan  # TypeError: a complex value (a fractional power of a negative): no root there

    roots = []
    grid = _with_finite_edges(_grid_for(uvar), resid)
    tol = ACCEPT_RTOL * abs(target)
    prev_u: Any = None
    prev_r: Any = None
    for g, r in grid:
        if math.isfinite(r) and (r == 0 or (prev_u is None and abs(r) <= tol)):
            # the target is met exactly at a grid point, or within tolerance at the domain's edge (the first
            # point, e.g. a count of 1): a root, unless the previous point already met it (a plateau)
            if prev_r is None or prev_r != 0:
                roots.append(g)
        elif prev_r is not None and math.isfinite(r) and math.isfinite(prev_r) and prev_r != 0:
            if (r > 0) != (prev_r > 0):
                a, b, ra = prev_u, g, prev_r
                for _ in range(200):
                    m = math.sqrt(a * b) if a > 0 else 0.5 * (a + b)
                    rm = resid(m)
                    if not math.isfinite(rm):
                        break
                    if (rm > 0) == (ra > 0):
                        a, ra = m, rm
                    else:
                        b = m
                    if abs(b - a) <= 1e-15 * abs(b):
                        break
                roots.append(0.5 * (a + b))
        prev_u, prev_r = g, r
    roots = [x for x in roots if abs(resid(x)) <= max(tol, 1e-300)]
    if not roots:
        return math.nan, False, []
    return roots[0], True, roots[1:]


def _ensure_float(x):
    return float(x) if not isinstance(x, np.ndarray) else x
