"""'Learning PyTorch with examples', defining new autograd functions: y = a + b * P3(c + d x),
with P3 the Legendre polynomial of degree 3 written as a torch.autograd.Function (forward and
backward by hand, ctx.save_for_backward), fitted to sin(x) by plain gradient descent.
PyTorch code: only the import lines say tinydl instead of torch."""
import math

import tinydl as torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
first = None
for t in range(2000):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t == 0:
        first = loss.item()
    if t % 500 == 499:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)')
assert loss.item() < first / 5, (first, loss.item())

# the hand-written backward agrees with autograd through the same formula
z = torch.randn(5, dtype=torch.float64, requires_grad=True)
g1, = torch.autograd.grad(LegendrePolynomial3.apply(z).sum(), z)
g2, = torch.autograd.grad((0.5 * (5 * z ** 3 - 3 * z)).sum(), z)
assert torch.allclose(g1, g2)
print("OK")
