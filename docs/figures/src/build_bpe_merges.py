"""Draw build_bpe_merges.svg: one sentence split into tokens after more and more BPE merges.

Uses the course's reference tokenizer (solutions/1_build_an_llm/01_bpe.py); run from the course root.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import retreat  # noqa: E402

bpe = retreat.load_solution("bpe")
# Trained on the text of the BPE notes page, so frequent words there become single tokens.
corpus = (Path(__file__).resolve().parents[2] / "notes" / "build-an-llm" / "bpe.md").read_text()
sentence = "the tokenizer merges the most frequent pairs"

plt.rcParams["svg.hashsalt"] = "retreat"
steps = [0, 20, 100, 400]
fig, axes = plt.subplots(len(steps), 1, figsize=(10, 0.75 * len(steps) + 0.6), constrained_layout=True)
colors = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb"]
rows = []
for n_merges in steps:
    tok = bpe.BPETokenizer()
    tok.train(corpus, vocab_size=256 + n_merges)
    ids = tok.encode(sentence)
    rows.append((n_merges, [tok.vocab[i].decode("utf-8", errors="replace").replace(" ", "␣") for i in ids]))
span = max(sum(0.12 + 0.1 * len(p) for p in pieces) for _, pieces in rows)
for ax, (n_merges, pieces) in zip(axes, rows, strict=True):
    x = 0.0
    for j, piece in enumerate(pieces):
        width = 0.12 + 0.1 * len(piece)
        ax.add_patch(plt.Rectangle((x, 0), width - 0.03, 1, color=colors[j % len(colors)]))
        ax.text(x + (width - 0.03) / 2, 0.5, piece, ha="center", va="center", fontsize=8, family="monospace")
        x += width
    ax.set_xlim(0, span)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.set_title(f"{n_merges} merges: {len(pieces)} tokens for {len(sentence.encode())} bytes",
                 fontsize=9, loc="left")
out = Path(__file__).resolve().parents[1] / "build_bpe_merges.svg"
fig.savefig(out, metadata={"Date": None})
print(f"wrote {out}")
