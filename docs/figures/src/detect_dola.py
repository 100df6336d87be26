"""Draw detect_dola.svg: Jensen-Shannon divergence between each layer and the final layer.

Synthetic layer readouts for the answer "Wole Soyinka was born in Abeokuta ." (an
illustration, not a trained model): every token starts vague in the first layers; function
words reach their final prediction early, while the tokens that carry the facts first pass
through a confident popular guess and only change to the final answer in the late layers.
The divergences and the premature layers DoLa picks come from the reference solution of the
dola exercise. Run from the course root.
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "detect"  # stable ids, so the file only changes when the figure does
os.environ["RETREAT_TARGET"] = "solution"  # dola loads contrastive-decoding: use its solution too
dola = retreat.load_solution("dola")
g = torch.Generator().manual_seed(0)

tokens = ["Wole", "Soy", "inka", "was", "born", "in", "Abe", "okuta", "."]
is_fact = torch.tensor([1, 1, 0, 0, 0, 0, 1, 1, 0]).bool()  # tokens that carry the facts
settles_at = torch.where(is_fact, 12.0, 4.0)[:, None]  # (T, 1): layer where the answer forms
n_layers, V = 16, 200
T = len(tokens)
vague = torch.randn(T, V, generator=g) * 0.3  # (T, V) early layers: nearly uniform
final = torch.randn(T, V, generator=g)
final[torch.arange(T), torch.randint(0, V, (T,), generator=g)] += 8.0  # a confident final answer
popular = torch.randn(T, V, generator=g)
popular[torch.arange(T), torch.randint(0, V, (T,), generator=g)] += 8.0  # a confident wrong guess
middle = torch.where(is_fact[:, None], popular, final)  # function words are right all along
layer_logits = []
for layer in range(n_layers + 1):
    forming = torch.sigmoid(torch.tensor((layer - 3.0) * 1.5))  # leaves the vague stage
    settled = torch.sigmoid((layer - settles_at) * 1.5)  # (T, 1): reaches the final answer
    if layer == n_layers:
        forming, settled = torch.tensor(1.0), torch.ones(T, 1)
    layer_logits.append((1 - forming) * vague + forming * ((1 - settled) * middle + settled * final))
layer_logits = torch.stack(layer_logits)  # (L+1, T, V); the last layer is the final one

jsd = dola.jensen_shannon(layer_logits[-1:], layer_logits[:-1])  # (L, T)
candidates = list(range(0, n_layers, 2))  # even layers 0, 2, ..., 14
_, premature = dola.dola_scores(layer_logits, candidates, alpha=0.1)  # (T,)

fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
im = ax.imshow(jsd, aspect="auto", origin="lower", cmap="magma")
ax.scatter(torch.arange(T), premature, marker="x", color="cyan", s=60)
ax.set_xticks(range(T), tokens)
ax.set_ylabel("layer")
ax.set_title("JSD(final layer, layer l) per token; x marks the premature layer DoLa picks\n"
             "(candidates: the even layers 0-14)", fontsize=10)
fig.colorbar(im, ax=ax, label="Jensen-Shannon divergence (nats)")
fig.savefig(Path(__file__).resolve().parents[1] / "detect_dola.svg", metadata={"Date": None})
