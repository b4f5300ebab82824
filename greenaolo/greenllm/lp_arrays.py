"""The Green-LLM LP as arrays for HiGHS: built once by linopy, re-solved with only its objective or bounds rewritten.

Both the explorer (:mod:`greenaolo.greenllm.explore`, new numbers for every slider move) and the year study
(:mod:`greenaolo.greenllm.year`, a new carbon intensity every day) build the model once with
:func:`~greenaolo.greenllm.model.build_model`, take its arrays (:func:`lp_arrays`) and the coefficient
vectors of its cost and metric expressions (:func:`coefficients`), and hand HiGHS a plain LP
(:func:`highs_lp`, :func:`quiet_highs`) whose costs or bounds they then rewrite, so the model itself stays
defined in one place (``model.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import highspy
import linopy
import numpy as np

from greenaolo.solvers import highs_version

__all__ = ["coefficients", "highs_lp", "lp_arrays", "quiet_highs", "run_highs"]


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
