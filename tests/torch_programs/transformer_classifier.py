"""A small sequence classifier in everyday PyTorch style: nn.Embedding, a learned positional
embedding (nn.Parameter), nn.TransformerEncoderLayer(batch_first=True) with a key padding mask,
mean pooling over the real tokens, nn.Linear, CrossEntropyLoss(label_smoothing=0.1), AdamW and
gradient clipping. The task: does the sequence contain the token 7?
PyTorch code: only the import lines say tinydl instead of torch."""
import tinydl as torch
import tinydl.nn as nn

torch.manual_seed(0)
VOCAB, LEN, D = 12, 10, 32


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, LEN, D))
        self.encoder = nn.TransformerEncoderLayer(d_model=D, nhead=4, dim_feedforward=64, dropout=0.0,
                                                  batch_first=True)
        self.head = nn.Linear(D, 2)

    def forward(self, tokens):
        pad = tokens == 0
        h = self.encoder(self.embed(tokens) + self.pos, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        pooled = (h * keep).sum(dim=1) / keep.sum(dim=1)
        return self.head(pooled)


def batch(n):
    tokens = torch.randint(1, VOCAB, (n, LEN))
    lengths = torch.randint(4, LEN + 1, (n,))
    positions = torch.arange(LEN).unsqueeze(0).expand(n, LEN)
    tokens = tokens.masked_fill(positions >= lengths.unsqueeze(1), 0)
    labels = (tokens == 7).any(dim=1).long()
    return tokens, labels


model = Classifier()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
for step in range(150):
    tokens, labels = batch(64)
    loss = loss_fn(model(tokens), labels)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step % 50 == 0:
        print(f"step {step}: loss {loss.item():.4f}")

model.eval()
with torch.no_grad():
    tokens, labels = batch(500)
    accuracy = (model(tokens).argmax(dim=1) == labels).float().mean().item()
print(f"accuracy {accuracy:.3f}")
assert accuracy > 0.85, accuracy
print("OK")
