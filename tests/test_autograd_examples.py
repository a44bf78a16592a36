"""Fast runs of the autograd v2 examples (Newton's method, the gradient penalty, the Hessian demo)."""
import os
import runpy

import numpy as np

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def run_main(name, *argv, monkeypatch):
    monkeypatch.syspath_prepend(EXAMPLES)
    module = runpy.run_path(os.path.join(EXAMPLES, name), run_name="example")
    return module["main"](list(argv))


def test_newton_converges_in_a_few_steps_where_gradient_descent_crawls(monkeypatch, capsys):
    results = run_main("newton.py", "--max-gd-iters", "300", monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    (n1, g1), (n2, g2) = results.values()
    assert n1 is not None and n1 <= 8 and g1 is not None and g1 > 10 * n1, out
    assert n2 is not None and n2 <= 10 and g2 is None, out  # Rosenbrock: GD needs thousands
    assert "Newton" in out and "iterations" in out


def test_gradient_penalty_holds_the_critic_gradient_norm_near_one(monkeypatch, capsys):
    # The penalty's gradient reaches the critic's weights only through a second-order graph.
    # 20 generator steps (100 critic steps): with lambda = 10 the critic's gradient norm at the
    # interpolates stays near 1 (1.08 measured); without the penalty it grows (7.8 measured).
    args = ["--steps", "20", "--hidden", "32", "--batch", "64", "--lr", "1e-3"]
    _, with_gp = run_main("gradient_penalty.py", *args, "--lam", "10", monkeypatch=monkeypatch)
    _, without = run_main("gradient_penalty.py", *args, "--lam", "0", monkeypatch=monkeypatch)
    assert abs(with_gp["grad_norm_mean"] - 1) < 0.3, with_gp
    assert without["grad_norm_mean"] > 3, without
    assert np.isfinite(with_gp["near_mode"]) and "after 20 generator steps" in capsys.readouterr().out


def test_hessian_demo_hvp_matches_finite_differences(monkeypatch, capsys):
    # double backward through Conv2D+bias+ReLU, max pooling, a dense layer and the fused
    # cross-entropy (random images without TINYDL_DATA: the derivatives are the point)
    result = run_main("hessian_demo.py", "--n", "8", "--power-iters", "6", monkeypatch=monkeypatch)
    assert result["hvp_rel_error"] < 1e-6, result
    assert np.isfinite(result["top_eigenvalue"]) and abs(result["top_eigenvalue"]) > 0
    assert "top Hessian eigenvalue" in capsys.readouterr().out
