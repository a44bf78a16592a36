"""The autograd idea in ten lines: build a graph by computing, then backpropagate.

Run: python examples/autograd_demo.py
"""
import tinydl as td

x = td.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
w = td.Tensor([[0.5], [-1.0]], requires_grad=True)
y = td.tanh(x @ w)            # forward: the graph is recorded as we go
loss = (y ** 2).mean()
loss.backward()               # reverse mode: every leaf gets d(loss)/d(leaf)
print("loss  =", round(loss.item(), 6))
print("dL/dw =", [round(float(v), 4) for v in w.grad.detach().numpy().ravel()])
print("dL/dx =", [[round(float(v), 4) for v in row] for row in x.grad.detach().numpy()])
