"""In the style of the 60-minute blitz ("Neural Networks" and "Training a Classifier"): the LeNet-like
Net class with F.relu, F.max_pool2d / nn.MaxPool2d and torch.flatten, a manual backward with a
random gradient, nn.MSELoss and nn.CrossEntropyLoss, optim.SGD(momentum=0.9), a training loop and
an accuracy count. Synthetic 3x32x32 images of two classes stand in for CIFAR-10.
PyTorch code: only the import lines say tinydl instead of torch."""
import numpy as np
import tinydl as torch
import tinydl.nn as nn
import tinydl.nn.functional as F
import tinydl.optim as optim

torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)  # flatten all dimensions except the batch dimension
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()
print(net)
params = list(net.parameters())
print(len(params), tuple(params[0].shape))  # conv1's .weight
assert len(params) == 10 and tuple(params[0].shape) == (6, 3, 5, 5)

input = torch.randn(1, 3, 32, 32)
out = net(input)
print(out)
assert tuple(out.shape) == (1, 10)
net.zero_grad()
out.backward(torch.randn(1, 10))
assert all(p.grad is not None for p in net.parameters())

output = net(input)
target = torch.randn(10)
target = target.reshape(1, -1)
criterion = nn.MSELoss()
loss = criterion(output, target)
print(loss)
print(loss.grad_fn)
net.zero_grad()
print("conv1.bias.grad before backward", net.conv1.bias.grad)
loss.backward()
print("conv1.bias.grad after backward", net.conv1.bias.grad)
assert net.conv1.bias.grad is not None

# training a classifier on two synthetic classes: a bright top half or a bright bottom half
rng = np.random.default_rng(0)
images = rng.standard_normal((96, 3, 32, 32)).astype(np.float32)
classes = rng.integers(0, 2, 96)
images[classes == 0, :, :16] += 0.5
images[classes == 1, :, 16:] += 0.5
trainloader = [(torch.tensor(images[i:i + 8]), torch.tensor(classes[i:i + 8])) for i in range(0, 64, 8)]
testloader = [(torch.tensor(images[i:i + 8]), torch.tensor(classes[i:i + 8])) for i in range(64, 96, 8)]

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
first = None
for epoch in range(4):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    print(f"[{epoch + 1}] loss: {running_loss / len(trainloader):.3f}")
    first = running_loss if first is None else first
assert running_loss < first

correct = 0
total = 0
with torch.no_grad():
    for data in testloader:
        images, labels = data
        outputs = net(images)
        predicted = outputs.argmax(1)
        total += labels.shape[0]
        correct += (predicted == labels).sum().item()
print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
assert correct / total > 0.8
print("OK")
