"""Points of a parameter grid (greenaolo.greenllm.points): parallel results equal serial ones; failures are reported per point, not fatal."""

from __future__ import annotations

import numpy as np
import pytest

from greenaolo.greenllm.points import HOURLY, SUMMARY, Point, run_points
from greenaolo.greenllm.scenario import Scaling


def test_parallel_sweep_equals_serial():
    points = [Point("M0", Scaling(theta=0.5)), Point("M2", Scaling(pw=1.5)), Point("M1", Scaling(tau=0.3))]
    serial = run_points(points, processes=1)
    parallel = run_points(points, processes=2)
    for a, b in zip(serial, parallel):
        for name in SUMMARY:
            if name != "solve_seconds":
                assert a[name] == pytest.approx(b[name], rel=1e-9, abs=1e-12), name
        for name in HOURLY:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-12)


def test_an_infeasible_point_is_reported_and_the_rest_finish():
    points = [Point("M0", limits=(("emissions", 0.0), ("water", 0.0))), Point("M0")]
    bad, good = run_points(points, processes=1)
    assert np.isnan(bad["total_cost"]) and "no allocation meets the limits" in bad["error"]
    assert round(good["total_cost"], 2) == 392.08 and good["error"] == ""


def test_bad_process_count():
    with pytest.raises(ValueError, match="processes=-1 is out of range"):
        run_points([Point(), Point()], processes=-1)
