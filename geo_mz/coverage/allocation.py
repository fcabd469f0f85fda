"""Location-allocation (选址建议): where new sites reach the most demand, or the fewest sites for all.

Pure module: numpy and scipy only, no Django (DESIGN §1).

Both models work on a **coverage matrix** ``A`` (``n_candidates × n_demand``, boolean, sparse):
``A[j, i]`` is true when candidate site j would cover demand point i, by straight-line or network
distance (build it with :func:`coverage_matrix` from :func:`engine.straight_pairs` or
:func:`network.network_pairs`).  Existing sites are fixed: the demand they already cover is passed
as ``existing_covered`` and counts as covered.  Candidates inside exclusion zones are left out with
``allowed`` (from :func:`engine.apply_exclusions`).

* **MCLP** (maximal covering location problem, Church & ReVelle 1974): choose k candidates that
  maximise the covered demand weight.  ``method="heuristic"`` is greedy followed by a 1-opt
  interchange (swap a chosen site for an unchosen one while that gains weight, Teitz & Bart
  1968); ``"greedy"`` stops after the greedy phase; ``"exact"`` solves the integer programme with
  HiGHS through ``scipy.optimize.milp`` (time limit, status and MIP gap reported).
* **LSCP** (location set covering problem, Toregas et al. 1971): the fewest candidates covering all
  coverable demand; greedy with redundancy removal, or exact.  Demand no candidate can cover is
  reported, not silently dropped.

Chosen sites are ranked: each site's ``marginal_weight`` is what it adds after the sites ranked
before it (greedy order within the chosen set), so the marginal weights add up to the added
coverage, which equals a recomputation of the coverage with those sites.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from geo_mz.coverage.engine import (
    ENGINE_VERSION,
    CoverageInputError,
    DistancePairs,
    _ragged,
    _readonly,
    check_weights,
)

__all__ = ["LSCPResult", "MCLPResult", "coverage_matrix", "lscp", "mclp"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

METHODS: Final = ("heuristic", "greedy", "exact")

_MILP_STATUS: Final = {
    0: "optimal",
    1: "time_limit",
    2: "infeasible",
    3: "unbounded",
    4: "other",
}


def coverage_matrix(pairs: DistancePairs | Any, radius_m: ArrayLike | None = None) -> sp.csr_array:
    """Boolean ``(n_candidates, n_demand)`` CSR coverage matrix.

    From :class:`DistancePairs` (``radius_m`` optionally narrows them, one or per candidate), or a
    scipy sparse / dense boolean matrix already in candidate × demand orientation.
    """
    if isinstance(pairs, DistancePairs):
        return pairs.coverage_matrix(radius_m)
    m = sp.csr_array(pairs if sp.issparse(pairs) else np.asarray(pairs), dtype=bool)
    m.eliminate_zeros()
    m.sum_duplicates()
    return m


class _Problem:
    """Checked inputs with both orientations of the coverage matrix (float, for mat-vec)."""

    def __init__(
        self,
        coverage: Any,
        weights: ArrayLike | None,
        existing_covered: ArrayLike | None,
        allowed: ArrayLike | None,
    ) -> None:
        a = coverage_matrix(coverage)
        self.n_cand, self.n_dem = a.shape
        if self.n_cand == 0:
            raise CoverageInputError("empty", "候选点集合为空", "the candidate set is empty")
        self.w = check_weights("weights", weights, self.n_dem)
        if existing_covered is None:
            self.existing = np.zeros(self.n_dem, dtype=bool)
        else:
            self.existing = np.asarray(existing_covered, dtype=bool)
            if self.existing.shape != (self.n_dem,):
                raise CoverageInputError(
                    "length_mismatch",
                    f"existing_covered 的长度 {self.existing.shape} 与需求点数 {self.n_dem} 不一致",
                    f"existing_covered has shape {self.existing.shape}, expected ({self.n_dem},)",
                )
        if allowed is None:
            self.allowed = np.ones(self.n_cand, dtype=bool)
        else:
            self.allowed = np.asarray(allowed, dtype=bool)
            if self.allowed.shape != (self.n_cand,):
                raise CoverageInputError(
                    "length_mismatch",
                    f"allowed 的长度 {self.allowed.shape} 与候选点数 {self.n_cand} 不一致",
                    f"allowed has shape {self.allowed.shape}, expected ({self.n_cand},)",
                )
        if not self.allowed.any():
            raise CoverageInputError(
                "empty", "所有候选点都在排除区内", "every candidate is excluded (no allowed candidate)"
            )
        a = sp.csr_array(a, dtype=np.float64)
        a.sort_indices()
        self.a = a  # candidates × demand
        self.at = sp.csr_array(a.T)  # demand × candidates
        self.at.sort_indices()
        self.w_new = np.where(self.existing, 0.0, self.w)  # only not-yet-covered demand counts

    def cols(self, j: int) -> IntArray:
        return self.a.indices[self.a.indptr[j] : self.a.indptr[j + 1]]

    def spread(self, demand: IntArray, weight: FloatArray) -> FloatArray:
        """Σ over the given demand points of weight × (candidate covers it), per candidate."""
        if demand.size == 0:
            return np.zeros(self.n_cand)
        starts = self.at.indptr[demand]
        owner, offset = _ragged(self.at.indptr[demand + 1] - starts)
        cand = self.at.indices[starts[owner] + offset]
        return np.bincount(cand, weights=weight[owner], minlength=self.n_cand)


def _rank(
    problem: _Problem, chosen: list[int], weight: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Greedy order within ``chosen`` (``weight`` is zero for already-covered demand), the weight
    each site adds in that order, and the weight only it covers."""
    ch = np.asarray(chosen, dtype=np.int64)
    order: list[int] = []
    cnt = np.zeros(problem.n_dem, dtype=np.int64)
    gain = np.full(problem.n_cand, -np.inf)
    gain[ch] = (problem.a @ weight)[ch]
    for _ in range(ch.shape[0]):
        j = int(np.argmax(gain))
        order.append(j)
        cols = problem.cols(j)
        new = cols[cnt[cols] == 0]
        cnt[cols] += 1
        gain -= problem.spread(new, weight[new])
        gain[j] = -np.inf
    # exact sums (the running gains above may carry rounding)
    marginal = []
    cnt[:] = 0
    for j in order:
        cols = problem.cols(j)
        marginal.append(float(weight[cols[cnt[cols] == 0]].sum()))
        cnt[cols] += 1
    order_arr = np.array(order, dtype=np.int64)
    exclusive = np.array([float(weight[c[cnt[c] == 1]].sum()) for c in map(problem.cols, order)])
    return order_arr, np.array(marginal), exclusive


# --------------------------------------------------------------------------- MCLP


@dataclass(frozen=True, eq=False)
class MCLPResult:
    """Maximal-coverage site suggestion.

    Attributes:
        chosen: candidate indices, ranked (greedy order within the chosen set).
        marginal_weight: weight each site adds after the ones before it (sums to ``added_weight``).
        exclusive_weight: weight only that site covers (lost if it alone were dropped).
        existing_weight: weight already covered by the existing sites.
        added_weight: weight newly covered by the chosen sites.
        covered_weight: existing + added (the objective).
        total_weight: all demand weight.
        method: ``heuristic``, ``greedy`` or ``exact``.
        status: ``optimal`` / ``time_limit`` / … for exact, ``local_optimum`` (no improving swap) or
            ``greedy`` / ``swap_limit`` for the heuristics.
        mip_gap / dual_bound: from the exact solver (relative gap; an upper bound on the covered
            weight), None for the heuristics.
        greedy_weight: covered weight after the greedy phase (heuristic), for comparison.
        n_swaps: improving interchanges applied.
    """

    chosen: IntArray
    marginal_weight: FloatArray
    exclusive_weight: FloatArray
    existing_weight: float
    added_weight: float
    covered_weight: float
    total_weight: float
    k: int
    method: str
    status: str
    runtime_s: float
    mip_gap: float | None = None
    dual_bound: float | None = None
    greedy_weight: float | None = None
    n_swaps: int = 0
    engine_version: str = ENGINE_VERSION

    @property
    def share(self) -> float:
        return self.covered_weight / self.total_weight if self.total_weight else math.nan


def _check_k(k: object, problem: _Problem) -> int:
    n_allowed = int(problem.allowed.sum())
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise CoverageInputError("parameter", f"k 应为正整数：{k!r}", f"k must be a positive integer: {k!r}")
    if k > n_allowed:
        raise CoverageInputError(
            "k_too_large",
            f"k = {k} 大于可用候选点数 {n_allowed}",
            f"k = {k} is larger than the number of allowed candidates ({n_allowed})",
        )
    return int(k)


def _greedy(
    problem: _Problem,
    k: int,
    weight: FloatArray,
    chosen: list[int] | None = None,
    cnt: NDArray[np.int64] | None = None,
    tabu: Sequence[int] = (),
) -> tuple[list[int], NDArray[np.int64]]:
    """Greedy MCLP: add, k times, the candidate adding the most still-uncovered weight (ties: the
    lowest index).  Continues from ``chosen`` / ``cnt`` when given; ``tabu`` candidates are skipped."""
    chosen = [] if chosen is None else list(chosen)
    cnt = np.zeros(problem.n_dem, dtype=np.int64) if cnt is None else cnt
    gain = problem.a @ np.where(cnt == 0, weight, 0.0)
    gain[~problem.allowed] = -np.inf
    gain[chosen] = -np.inf
    gain[list(tabu)] = -np.inf
    for _ in range(k):
        j = int(np.argmax(gain))
        if not np.isfinite(gain[j]):
            break
        chosen.append(j)
        cols = problem.cols(j)
        new = cols[cnt[cols] == 0]
        cnt[cols] += 1
        gain -= problem.spread(new, weight[new])
        gain[j] = -np.inf
    return chosen, cnt


def _counts(problem: _Problem, chosen: Sequence[int]) -> NDArray[np.int64]:
    cnt = np.zeros(problem.n_dem, dtype=np.int64)
    for j in chosen:
        cnt[problem.cols(j)] += 1
    return cnt


def _interchange(
    problem: _Problem,
    chosen: list[int],
    cnt: NDArray[np.int64],
    weight: FloatArray,
    deadline: float,
    max_swaps: int,
) -> tuple[list[int], int, str]:
    """1-opt interchange, best improvement: evaluate every (chosen site s, unchosen candidate c)
    swap at once and apply the best while it gains; stops at a local optimum.

    The gain of swapping s for c is ``gain0[c] + Σ_{i only covered by s, c covers i} w_i − loss[s]``
    with ``gain0`` the weight c would add now and ``loss[s]`` the weight only s covers; the middle
    term for all pairs is one sparse product (k × n_demand) @ (n_demand × n_candidates).
    """
    tol = 1e-9 * max(1.0, float(weight.sum()))
    gain0 = problem.a @ np.where(cnt == 0, weight, 0.0)
    blocked = ~problem.allowed.copy()
    blocked[chosen] = True
    k = len(chosen)
    swaps = 0
    while True:
        if time.perf_counter() > deadline:
            return chosen, swaps, "time_limit"
        if swaps >= max_swaps:
            return chosen, swaps, "swap_limit"
        ch = np.asarray(chosen, dtype=np.int64)
        starts = problem.a.indptr[ch]
        pos, off = _ragged(problem.a.indptr[ch + 1] - starts)
        dem = problem.a.indices[starts[pos] + off]
        only = cnt[dem] == 1
        pos, dem = pos[only], dem[only]
        loss = np.bincount(pos, weights=weight[dem], minlength=k)
        s_mat = sp.csr_array((weight[dem], (pos, dem)), shape=(k, problem.n_dem))
        delta = (s_mat @ problem.at).toarray() + gain0[None, :] - loss[:, None]
        delta[:, blocked] = -np.inf
        flat = int(np.argmax(delta))
        p, c = divmod(flat, problem.n_cand)
        if not delta[p, c] > tol:
            return chosen, swaps, "local_optimum"
        s = chosen[p]
        cols_s = problem.cols(s)
        cnt[cols_s] -= 1
        freed = cols_s[cnt[cols_s] == 0]
        gain0 += problem.spread(freed, weight[freed])
        cols_c = problem.cols(c)
        taken = cols_c[cnt[cols_c] == 0]
        cnt[cols_c] += 1
        gain0 -= problem.spread(taken, weight[taken])
        chosen[p] = c
        blocked[s] = not problem.allowed[s]
        blocked[c] = True
        swaps += 1


def _rows(m: sp.csr_array, rows: IntArray) -> IntArray:
    """Column indices of the given rows of a CSR matrix, concatenated."""
    starts = m.indptr[rows]
    owner, offset = _ragged(m.indptr[rows + 1] - starts)
    return m.indices[starts[owner] + offset]


def _neighbours(problem: _Problem, chosen: list[int], q: int, n: int) -> IntArray:
    """Positions of ``chosen[q]`` and its n − 1 nearest chosen sites, nearness being how much of a
    site's coverage lies within two steps (demand → candidates → demand) of ``chosen[q]``."""
    near_cands = np.unique(_rows(problem.at, problem.cols(chosen[q])))
    two_step = np.zeros(problem.n_dem, dtype=bool)
    two_step[_rows(problem.a, near_cands)] = True
    ch = np.asarray(chosen, dtype=np.int64)
    starts = problem.a.indptr[ch]
    owner, offset = _ragged(problem.a.indptr[ch + 1] - starts)
    score = np.bincount(owner, weights=two_step[problem.a.indices[starts[owner] + offset]], minlength=len(ch))
    score[q] = np.inf
    return np.argsort(-score, kind="stable")[:n]


def _iterated_local_search(
    problem: _Problem,
    chosen: list[int],
    weight: FloatArray,
    rounds: int,
    seed: int,
    deadline: float,
    max_swaps: int,
) -> tuple[list[int], int, str]:
    """Greedy + interchange, then ``rounds`` kicks: drop ~k/10 sites (alternately a random site with
    its nearest chosen neighbours, and random sites), refill greedily without them, interchange
    again; keep the best.  Seeded, so a run repeats exactly."""
    rng = np.random.default_rng(seed)
    cnt = _counts(problem, chosen)
    best, swaps, status = _interchange(problem, list(chosen), cnt, weight, deadline, max_swaps)
    best_w = float(weight[_counts(problem, best) > 0].sum())
    k = len(best)
    drop_n = max(1, math.ceil(k / 10))
    spare = int(problem.allowed.sum()) - k
    for kick in range(rounds if spare >= drop_n else 0):
        if status != "local_optimum":
            break
        if kick % 2 == 0:
            drop = set(_neighbours(problem, best, int(rng.integers(k)), drop_n).tolist())
        else:
            drop = set(rng.choice(k, size=drop_n, replace=False).tolist())
        kept = [j for q, j in enumerate(best) if q not in drop]
        removed = [best[q] for q in drop]
        cur, cnt = _greedy(problem, drop_n, weight, kept, _counts(problem, kept), tabu=removed)
        if len(cur) < k:
            continue
        cur, n_sw, status = _interchange(problem, cur, cnt, weight, deadline, max_swaps - swaps)
        swaps += n_sw
        cur_w = float(weight[cnt > 0].sum())
        if cur_w > best_w + 1e-9 * max(1.0, best_w):
            best, best_w = cur, cur_w
    return best, swaps, status


def _covered(problem: _Problem, chosen: list[int] | IntArray) -> BoolArray:
    cov = problem.existing.copy()
    for j in chosen:
        cov[problem.cols(int(j))] = True
    return cov


def _unique_columns(at: sp.csr_array, rows: IntArray) -> tuple[IntArray, IntArray]:
    """Group demand rows with identical candidate sets: representative row per group and the
    group of every given row."""
    seen: dict[bytes, int] = {}
    group = np.empty(rows.shape[0], dtype=np.int64)
    reps: list[int] = []
    for q, i in enumerate(rows.tolist()):
        key = at.indices[at.indptr[i] : at.indptr[i + 1]].tobytes()
        g = seen.get(key)
        if g is None:
            g = seen[key] = len(reps)
            reps.append(i)
        group[q] = g
    return np.array(reps, dtype=np.int64), group


def _milp_options(time_limit_s: float, mip_rel_gap: float) -> dict[str, Any]:
    return {"time_limit": float(time_limit_s), "disp": False, "mip_rel_gap": float(mip_rel_gap)}


def _exact_mclp(
    problem: _Problem, k: int, time_limit_s: float, mip_rel_gap: float
) -> tuple[list[int], str, float | None, float | None]:
    weight = problem.w_new
    cand = np.flatnonzero(problem.allowed)
    sub = sp.csr_array(problem.at[:, cand])  # demand × allowed candidates
    sub.sort_indices()
    rows = np.flatnonzero((weight > 0) & (np.diff(sub.indptr) > 0))
    reps, group = _unique_columns(sub, rows)
    gw = np.bincount(group, weights=weight[rows], minlength=reps.shape[0])
    nx, ny = cand.shape[0], reps.shape[0]
    # y_g - Σ_{j covers g} x_j <= 0 ;  Σ x_j = k
    rep_rows = sub[reps]
    a_ub = sp.hstack([-rep_rows, sp.eye_array(ny)], format="csr")
    a_eq = sp.csr_array(np.concatenate([np.ones(nx), np.zeros(ny)])[None, :])
    c = np.concatenate([np.zeros(nx), -gw])
    res = milp(
        c,
        integrality=np.concatenate([np.ones(nx), np.zeros(ny)]),
        bounds=Bounds(0, 1),
        constraints=[LinearConstraint(a_ub, -np.inf, 0.0), LinearConstraint(a_eq, k, k)],
        options=_milp_options(time_limit_s, mip_rel_gap),
    )
    status = _MILP_STATUS.get(res.status, "other")
    if res.x is None:
        raise CoverageInputError(
            "solver",
            f"精确求解未找到可行解（{status}：{res.message}）",
            f"the exact solver found no solution ({status}: {res.message})",
        )
    x = res.x[:nx]
    chosen = cand[np.argsort(-x, kind="stable")[:k]].tolist()
    gap = getattr(res, "mip_gap", None)
    bound = getattr(res, "mip_dual_bound", None)
    existing_w = float(problem.w[problem.existing].sum())
    dual = None if bound is None or not np.isfinite(bound) else existing_w - float(bound)
    return chosen, status, None if gap is None else float(gap), dual


def mclp(
    coverage: DistancePairs | Any,
    weights: ArrayLike | None,
    k: int,
    *,
    existing_covered: ArrayLike | None = None,
    allowed: ArrayLike | None = None,
    method: str = "heuristic",
    time_limit_s: float = 60.0,
    max_swaps: int = 100_000,
    perturbations: int = 8,
    seed: int = 0,
    mip_rel_gap: float = 1e-6,
) -> MCLPResult:
    """Choose ``k`` new sites maximising covered demand weight (existing coverage fixed).

    Args:
        coverage: candidate × demand coverage (:func:`coverage_matrix` input).
        weights: demand weight (e.g. people aged 60+), >= 0; None = 1 per point.
        k: sites to choose (1 … number of allowed candidates).
        existing_covered: demand already covered by existing sites (counts as covered).
        allowed: candidates that may be chosen (e.g. outside exclusion zones).
        method: ``heuristic`` (greedy + interchange), ``greedy`` or ``exact`` (HiGHS MILP).
        time_limit_s: for the interchange or the exact solver; the best solution so far is returned.
        max_swaps: cap on improving interchanges (status ``swap_limit`` when reached).
        perturbations / seed: kicks of the iterated local search after the first local optimum
            (0 = plain greedy + interchange); seeded, so a run repeats exactly.
        mip_rel_gap: relative gap at which the exact solver stops.
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise CoverageInputError(
            "parameter",
            f"未知的求解方法：{method!r}（可选：{'、'.join(METHODS)}）",
            f"unknown method {method!r}",
        )
    problem = _Problem(coverage, weights, existing_covered, allowed)
    k = _check_k(k, problem)
    weight = problem.w_new
    mip_gap = dual = greedy_w = None
    swaps = 0
    if method == "exact":
        chosen, status, mip_gap, dual = _exact_mclp(problem, k, time_limit_s, mip_rel_gap)
    else:
        chosen, cnt = _greedy(problem, k, weight)
        status = "greedy"
        if method == "heuristic":
            greedy_w = float(problem.w[_covered(problem, chosen)].sum())
            chosen, swaps, status = _iterated_local_search(
                problem, chosen, weight, perturbations, seed, t0 + time_limit_s, max_swaps
            )
    order, marginal, exclusive = _rank(problem, chosen, weight)
    existing_w = float(problem.w[problem.existing].sum())
    covered_w = float(problem.w[_covered(problem, order)].sum())
    _readonly(order, marginal, exclusive)
    return MCLPResult(
        order,
        marginal,
        exclusive,
        existing_w,
        covered_w - existing_w,
        covered_w,
        float(problem.w.sum()),
        k,
        method,
        status,
        time.perf_counter() - t0,
        mip_gap,
        dual,
        greedy_w,
        swaps,
    )


# --------------------------------------------------------------------------- LSCP


@dataclass(frozen=True, eq=False)
class LSCPResult:
    """Fewest sites covering all coverable demand.

    Attributes:
        chosen: candidate indices, ranked (greedy order), with ``marginal_weight`` as for MCLP.
        uncoverable: demand points neither covered by an existing site nor by any allowed candidate.
        covered_weight / total_weight / uncoverable_weight: demand weights.
        greedy_n_sites: sites after the greedy phase, before redundancy removal (heuristic).
    """

    chosen: IntArray
    marginal_weight: FloatArray
    uncoverable: IntArray
    covered_weight: float
    uncoverable_weight: float
    total_weight: float
    method: str
    status: str
    runtime_s: float
    mip_gap: float | None = None
    greedy_n_sites: int | None = None
    engine_version: str = ENGINE_VERSION

    @property
    def n_sites(self) -> int:
        return int(self.chosen.shape[0])


def lscp(
    coverage: DistancePairs | Any,
    *,
    weights: ArrayLike | None = None,
    existing_covered: ArrayLike | None = None,
    allowed: ArrayLike | None = None,
    method: str = "heuristic",
    time_limit_s: float = 60.0,
) -> LSCPResult:
    """The fewest new sites so that every demand point any allowed candidate can cover is covered.

    ``heuristic``: greedy (most still-uncovered points first), then redundant sites removed (last
    chosen first); ``exact``: HiGHS MILP.  ``weights`` only serve the reported weights and ranks.
    """
    t0 = time.perf_counter()
    if method not in ("heuristic", "exact"):
        raise CoverageInputError(
            "parameter", f"未知的求解方法：{method!r}（可选：heuristic、exact）", f"unknown method {method!r}"
        )
    problem = _Problem(coverage, weights, existing_covered, allowed)
    cand = np.flatnonzero(problem.allowed)
    coverable = np.zeros(problem.n_dem, dtype=bool)
    coverable[problem.a[cand].indices] = True
    need = coverable & ~problem.existing
    uncoverable = np.flatnonzero(~coverable & ~problem.existing)
    unit = need.astype(np.float64)
    mip_gap = None
    greedy_n = None
    status = "optimal"
    chosen: list[int] = []
    if need.any() and method == "heuristic":
        cnt = np.zeros(problem.n_dem, dtype=np.int64)
        gain = problem.a @ unit
        gain[~problem.allowed] = -np.inf
        left = int(need.sum())
        while left > 0:
            j = int(np.argmax(gain))
            chosen.append(j)
            cols = problem.cols(j)
            new = cols[(cnt[cols] == 0) & need[cols]]
            cnt[cols] += 1
            left -= new.shape[0]
            gain -= problem.spread(new, unit[new])
            gain[j] = -np.inf
        greedy_n = len(chosen)
        for j in reversed(list(chosen)):
            cols = problem.cols(j)
            cols = cols[need[cols]]
            if (cnt[cols] >= 2).all():
                cnt[cols] -= 1
                chosen.remove(j)
        status = "heuristic"
    elif need.any():
        sub = sp.csr_array(problem.at[:, cand])
        sub.sort_indices()
        reps, _ = _unique_columns(sub, np.flatnonzero(need))
        res = milp(
            np.ones(cand.shape[0]),
            integrality=np.ones(cand.shape[0]),
            bounds=Bounds(0, 1),
            constraints=[LinearConstraint(sub[reps], 1.0, np.inf)],
            options=_milp_options(time_limit_s, 0.0),
        )
        status = _MILP_STATUS.get(res.status, "other")
        if res.x is None:
            raise CoverageInputError(
                "solver",
                f"精确求解未找到可行解（{status}：{res.message}）",
                f"the exact solver found no solution ({status}: {res.message})",
            )
        chosen = cand[res.x > 0.5].tolist()
        gap = getattr(res, "mip_gap", None)
        mip_gap = None if gap is None else float(gap)
    order, marginal, _ = _rank(problem, chosen, problem.w_new)
    covered_w = float(problem.w[_covered(problem, order)].sum())
    _readonly(order, marginal, uncoverable)
    return LSCPResult(
        order,
        marginal,
        uncoverable,
        covered_w,
        float(problem.w[uncoverable].sum()),
        float(problem.w.sum()),
        method,
        status,
        time.perf_counter() - t0,
        mip_gap,
        greedy_n,
    )
