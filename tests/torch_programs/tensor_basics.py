# The 60-minute blitz's tensor tour: creation, attributes, indexing, joining, arithmetic,
# in-place ops and the NumPy bridge.
import tinydl as torch
import numpy as np

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print("from data:", x_data.tolist(), x_data.dtype == torch.int64)
print("from numpy:", x_np.tolist())

x_ones = torch.ones_like(x_data)
print("ones_like:", x_ones.tolist())
x_rand = torch.rand_like(x_data, dtype=torch.float)
print("rand_like:", tuple(x_rand.shape), x_rand.dtype == torch.float32, bool((x_rand < 1).all()))

shape = (2, 3,)
print("zeros:", torch.zeros(shape).tolist(), "ones:", torch.ones(shape).sum().item())

tensor = torch.rand(3, 4)
print(f"Shape of tensor: {tuple(tensor.shape)}")
print(f"Datatype is float32: {tensor.dtype == torch.float32}")
print(f"Device tensor is stored on: {tensor.device}")

if torch.cuda.is_available():
    tensor = tensor.to("cuda")
print("still on the cpu:", tensor.device == torch.device("cpu"))

tensor = torch.ones(4, 4)
print(f"First row: {tensor[0].tolist()}")
print(f"First column: {tensor[:, 0].tolist()}")
print(f"Last column: {tensor[..., -1].tolist()}")
tensor[:, 1] = 0
print(tensor.tolist())

t1 = torch.cat([tensor, tensor, tensor], dim=1)
print("cat:", tuple(t1.shape), t1[0].tolist())

tensor = torch.arange(16, dtype=torch.float32).view(4, 4)
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
print("matmul equal:", torch.equal(y1, y2), y1[1].tolist())

z1 = tensor * tensor
z2 = tensor.mul(tensor)
print("mul equal:", torch.equal(z1, z2), z1[3].tolist())

agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item).__name__)

print("max over rows:", tensor.max(1).values.tolist(), tensor.max(1)[1].tolist())
print("std:", round(tensor.std().item(), 5), "var dim 0:", [round(v, 3) for v in tensor.var(0).tolist()])
print("transposed:", tensor.transpose(0, 1)[0].tolist())
print("split in 2s:", [p.shape[0] for p in torch.split(torch.arange(5), 2)])

tensor.add_(5)
print("add_:", tensor[0].tolist())

t = torch.ones(5)
n = t.numpy()
t.add_(1)
print(f"t: {t.tolist()} n: {n.tolist()}")

n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t.tolist()} n: {n.tolist()}")

c = torch.tensor(n)
n[0] = 100.0
print("tensor() copied:", c.tolist())
