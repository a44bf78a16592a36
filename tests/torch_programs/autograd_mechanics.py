# An autograd walk-through: leaves and grad_fn, gradients accumulating, vector-Jacobian products,
# retain_graph, no_grad and detach, torch.autograd.grad with create_graph.
import tinydl as torch

x = torch.ones(2, 2, requires_grad=True)
y = x + 2
print("y requires grad:", y.requires_grad, "is leaf:", y.is_leaf, "x is leaf:", x.is_leaf)
print("has grad_fn:", y.grad_fn is not None, x.grad_fn is None)

z = y * y * 3
out = z.mean()
print("z:", z.tolist(), "out:", out.item())

out.backward()
print("x.grad:", x.grad.tolist())

# gradients accumulate until they are reset
out = (x * x).sum()
out.backward()
print("accumulated:", x.grad.tolist())
x.grad.zero_()
print("after zero_:", x.grad.tolist())

# a vector-Jacobian product: backward of a non-scalar needs the vector v
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = a * 2
while b.norm() < 100:
    b = b * 2
print("b:", b.tolist())
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
b.backward(v)
print("a.grad:", a.grad.tolist())

# retain_graph lets the same graph be walked twice
w = torch.tensor([2.0, -1.0], requires_grad=True)
s = (w ** 3).sum()
s.backward(retain_graph=True)
first = w.grad.clone()
s.backward()
print("twice:", first.tolist(), w.grad.tolist())

# no_grad and detach
with torch.no_grad():
    q = w * 2
print("under no_grad:", q.requires_grad)
d = w.detach()
print("detached:", d.requires_grad, torch.equal(d, w))

# second derivative with autograd.grad(create_graph=True)
t = torch.tensor(1.5, requires_grad=True)
f = t ** 4 - 2 * t
g, = torch.autograd.grad(f, t, create_graph=True)
h, = torch.autograd.grad(g, t)
print("f'(1.5) =", round(g.item(), 4), "f''(1.5) =", round(h.item(), 4))

# requires_grad_ and a leaf's in-place update outside the graph
p = torch.zeros(3).requires_grad_()
loss = ((p - torch.tensor([1.0, 2.0, 3.0])) ** 2).sum()
loss.backward()
with torch.no_grad():
    p.sub_(0.25 * p.grad)
print("p:", p.tolist(), "p.grad:", p.grad.tolist())
