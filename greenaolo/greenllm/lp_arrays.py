"""The Green-LLM LP as arrays for HiGHS: built once by linopy, re-solved with only its objective rewritten.

Both the explorer (:mod:`greenaolo.greenllm.explore`, new numbers for every slider move) and the year studies
(:mod:`greenaolo.greenllm.year`, :mod:`greenaolo.greenllm.measured_year`, a new carbon intensity and price
every day) build the model with :func:`~greenaolo.greenllm.model.build_model`, take its arrays
(:func:`lp_arrays`) and the coefficient vectors of its cost and metric expressions (:func:`coefficients`), and
solve them with one :class:`ArrayLP`: the compared models' weights, the tie-break (the primary objective
bounded at its optimum, then the least total cost, ``docs/greenllm.md#a8``) and the total are those of
:mod:`~greenaolo.greenllm.optimise` and :func:`~greenaolo.greenllm.model.total_cost`, so the model and its
solution rule stay defined in one place each.
"""

from __future__ import annotations

from collections.abc import Mapping

import highspy
import linopy
import numpy as np

from greenaolo.greenllm.model import total_cost
from greenaolo.greenllm.optimise import needs_tie_break, relaxed_bound
from greenaolo.solvers import highs_version

__all__ = ["PRIMAL_SIMPLEX", "ArrayLP", "coefficients", "highs_lp", "lp_arrays", "quiet_highs", "run_highs"]

#: HiGHS's ``simplex_strategy`` for the primal simplex.
PRIMAL_SIMPLEX = 4


def lp_arrays(model: linopy.Model) -> dict[str, object]:
    """The built model's constraint matrix ``A`` (CSR, one row per constraint), right-hand side ``b``,
    variable bounds ``lb`` and ``ub``, and row senses ``sense`` (``"<"``, ``">"`` or ``"="``).

    :raises RuntimeError: the model's variables are not labelled 0..n-1 (its columns could not be indexed by label).
    """
    mats = model.matrices
    if not (mats.vlabels == np.arange(len(mats.vlabels))).all():
        raise RuntimeError("the model's variables are not labelled 0..n-1: cannot index them by label")
    return {"A": mats.A.tocsr(), "b": np.asarray(mats.b, float), "lb": np.asarray(mats.lb, float),
            "ub": np.asarray(mats.ub, float), "sense": np.asarray(mats.sense)}


def coefficients(expr: linopy.LinearExpression, n: int) -> np.ndarray:
    """A linear expression's coefficients as a dense vector over the model's ``n`` variable labels."""
    labels, coeffs = expr.vars.values.ravel(), expr.coeffs.values.ravel()
    keep = labels >= 0
    out = np.zeros(n)
    np.add.at(out, labels[keep], coeffs[keep])
    return out


def highs_lp(data: Mapping[str, object], sense: np.ndarray, cost: np.ndarray) -> highspy.HighsLp:
    """The LP ``min cost x`` s.t. ``A x (sense) b``, ``lb <= x <= ub`` for HiGHS, the matrix row-wise.

    :param data: ``A`` (CSR), ``b``, ``lb`` and ``ub`` as :func:`lp_arrays` gives them.
    :param sense: each row's sense, ``"<"``, ``">"`` or ``"="``.
    :param cost: the objective's coefficient of each column.
    """
    a = data["A"]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = data["lb"], data["ub"]
    b = data["b"]
    lp.row_lower_ = np.where(sense == "<", -highspy.kHighsInf, b)
    lp.row_upper_ = np.where(sense == ">", highspy.kHighsInf, b)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    return lp


def quiet_highs(lp: highspy.HighsLp) -> highspy.Highs:
    """A quiet HiGHS holding ``lp`` (the process's first HiGHS, with its banner, is made by ``solvers``)."""
    highs_version()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    return h


def run_highs(h: highspy.Highs) -> tuple[bool, str]:
    """Run HiGHS on its model: ``(optimal, its model status in words)``."""
    h.run()
    status = h.getModelStatus()
    return status == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(status)


class ArrayLP:
    """An LP over arrays (:func:`lp_arrays`), solved for any weighted objective as
    :func:`~greenaolo.greenllm.optimise.solve` solves the model: ``min sum_n w_n vectors[n] x``, then, when the
    weights need it (:func:`~greenaolo.greenllm.optimise.needs_tie_break`), the least total cost
    (:func:`~greenaolo.greenllm.model.total_cost` of ``vectors``) with the primary objective bounded at its
    optimum (:func:`~greenaolo.greenllm.optimise.relaxed_bound`).

    Used once (``warm=False``, the explorer: the matrix changes with every setting), the tie-break adds its row
    to the HiGHS that found the primary optimum and goes on from there. Used many times (``warm=True``, the
    year studies: only the objective changes), it keeps, per ``key``, one HiGHS for the primary objective and
    one holding the tie-break row, each starting from its own previous optimal basis (with the primal simplex
    when there is a tie-break: a new objective leaves the old basis primal feasible). Two, not one: the primary and the tie-break optima are about 2,000 simplex iterations apart, while each
    lies close to its own previous optimum.

    :param data: ``A`` (CSR), ``b``, ``lb`` and ``ub`` as :func:`lp_arrays` gives them.
    :param sense: each row's sense, ``"<"``, ``">"`` or ``"="``.
    :param warm: keep the solvers between solves (see above).
    :param tie_columns: with ``warm``, the columns the tie-break row may cover (its coefficients are rewritten
        in place per solve); ``None`` means every column.
    """

    def __init__(self, data: Mapping[str, object], sense: np.ndarray, *, warm: bool = False,
                 tie_columns: np.ndarray | None = None) -> None:
        self.data, self.sense, self.warm = data, np.asarray(sense), bool(warm)
        self.n_cols = data["A"].shape[1]
        self.tie_columns = (np.arange(self.n_cols) if tie_columns is None else np.asarray(tie_columns).ravel())
        self._solvers: dict[object, tuple[highspy.Highs, highspy.Highs | None, int | None, np.ndarray]] = {}

    def reset(self) -> None:
        """Forget every kept solver (and its basis): the next solve per key starts cold."""
        self._solvers.clear()

    def _kept(self, key: object, tie_break: bool) -> tuple[highspy.Highs, highspy.Highs | None, int | None, np.ndarray]:
        if key not in self._solvers:
            primary = quiet_highs(highs_lp(self.data, self.sense, np.zeros(self.n_cols)))
            tie, row = None, None
            if tie_break:
                tie = quiet_highs(highs_lp(self.data, self.sense, np.zeros(self.n_cols)))
                cols = self.tie_columns.astype(np.int32)
                tie.addRow(-highspy.kHighsInf, highspy.kHighsInf, len(cols), cols, np.zeros(len(cols)))
                row = tie.getNumRow() - 1
                # Measured on M2 (theta moves its primary a long way): about 250 iterations from the old basis
                # with the primal simplex against 1,100 with HiGHS's default dual simplex; M0 and M3 (no
                # tie-break) move little and the default is faster for them.
                for h in (primary, tie):
                    h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
            self._solvers[key] = (primary, tie, row, np.zeros(len(self.tie_columns)))
        return self._solvers[key]

    def solve(self, vectors: Mapping[str, np.ndarray], weights: Mapping[str, float], *,
              key: object = None) -> tuple[np.ndarray | None, str]:
        """The optimal solution over the columns, ``(x, "")``, or ``(None, HiGHS's status in words)``.

        :param vectors: each cost term's (``energy``, ``carbon``, ``delay``) and metric's vector over the columns.
        :param weights: weight per name of ``vectors`` (:func:`~greenaolo.greenllm.optimise.model_weights`).
        :param key: with ``warm``, which kept solvers to reuse (e.g. the model's name); ignored otherwise.
        :raises ValueError: with ``warm``, the objective is not zero outside ``tie_columns``.
        """
        objective = sum(w * vectors[name] for name, w in weights.items() if w != 0)
        tie_break = needs_tie_break(weights)
        everything = np.arange(self.n_cols, dtype=np.int32)
        if not self.warm:
            primary = quiet_highs(highs_lp(self.data, self.sense, objective))
        else:
            primary, tie, row, previous = self._kept(key, tie_break)
            primary.changeColsCost(self.n_cols, everything, objective)
        ok, status = run_highs(primary)
        if not ok or not tie_break:
            return (np.asarray(primary.getSolution().col_value), "") if ok else (None, status)
        bound = relaxed_bound(float(primary.getInfo().objective_function_value))
        if not self.warm:
            tie, nz = primary, np.flatnonzero(objective)
            tie.addRow(-highspy.kHighsInf, bound, len(nz), nz.astype(np.int32), objective[nz])
        else:
            if np.any(np.delete(objective, self.tie_columns)):
                raise ValueError("the objective is not zero outside tie_columns: the tie-break row cannot hold it")
            coefficients_now = objective[self.tie_columns]
            for i in np.flatnonzero(coefficients_now != previous).tolist():
                tie.changeCoeff(row, int(self.tie_columns[i]), float(coefficients_now[i]))
            previous[:] = coefficients_now
            tie.changeRowBounds(row, -highspy.kHighsInf, bound)
        tie.changeColsCost(self.n_cols, everything, total_cost(vectors))
        ok, status = run_highs(tie)
        return (np.asarray(tie.getSolution().col_value), "") if ok else (None, status)
