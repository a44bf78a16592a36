"""Newton's method with exact second derivatives (tinydl.autograd) against gradient descent.

1-D: f(x) = exp(x) - 2x (minimum at ln 2). 2-D: Rosenbrock's function
f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1) (minimum at (1, 1)). The gradient comes from
autograd.grad(..., create_graph=True) and the Hessian from differentiating it again
(tinydl.autograd.functional.hessian); Newton solves H d = -g each step. Gradient descent uses the
largest fixed step that does not diverge on each problem. Both stop at |grad| < tol.

    python examples/newton.py                  # prints iterations for both methods
"""
import argparse
import time

import numpy as np

import tinydl as td
from tinydl import autograd
from tinydl.autograd.functional import hessian


def f1(x):
    return td.exp(x) - 2 * x


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def gradient(f, x):
    t = td.Tensor(x, requires_grad=True)
    g, = autograd.grad(f(t).sum(), t)
    return g.detach().numpy()


def newton(f, x0, tol, max_iter=100):
    x = np.array(x0, dtype=np.float64)
    for it in range(max_iter):
        g = gradient(f, x)
        if np.linalg.norm(g) < tol:
            return x, it
        H = hessian(lambda t: f(t).sum(), td.Tensor(x)).detach().numpy().reshape(x.size, x.size)
        x = x - np.linalg.solve(H, g.reshape(-1)).reshape(x.shape)
    return x, None


def gradient_descent(f, x0, lr, tol, max_iter):
    x = np.array(x0, dtype=np.float64)
    for it in range(max_iter):
        g = gradient(f, x)
        if np.linalg.norm(g) < tol:
            return x, it
        x = x - lr * g
    return x, None


def report(name, x, iters, max_iter, f, seconds):
    where = np.array2string(np.asarray(x), precision=8)
    grad = np.linalg.norm(gradient(f, x))
    if iters is None:
        print(f"  {name:<17} not converged after {max_iter} iterations: x = {where}, |grad| = {grad:.2e} ({seconds:.2f} s)")
    else:
        print(f"  {name:<17} {iters:>6} iterations: x = {where}, |grad| = {grad:.2e} ({seconds:.2f} s)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tol", type=float, default=1e-8)
    p.add_argument("--max-gd-iters", type=int, default=20000)
    a = p.parse_args(argv)
    results = {}
    for title, f, x0, lr in (("1-D: exp(x) - 2x from x = 3", f1, [3.0], 0.05),
                             ("2-D: Rosenbrock from (-1.2, 1)", rosenbrock, [-1.2, 1.0], 1.5e-3)):
        print(title)
        t0 = time.perf_counter()
        xn, itn = newton(f, x0, a.tol)
        t1 = time.perf_counter()
        report("Newton", xn, itn, 100, f, t1 - t0)
        xg, itg = gradient_descent(f, x0, lr, a.tol, a.max_gd_iters)
        report(f"GD (step {lr:g})", xg, itg, a.max_gd_iters, f, time.perf_counter() - t1)
        results[title] = (itn, itg)
    return results


if __name__ == "__main__":
    main()
