"""Draw training_instruction_mask.svg: which targets of an instruction batch the loss learns from.

Two examples, prompt tokens P, response tokens R (ending in <eos>), right padding. Run from the
repository root: python docs/figures/src/training_instruction_mask.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "training_instruction_mask.svg"
plt.rcParams["svg.hashsalt"] = "retreat"  # stable ids: the file changes only when the picture does

EXAMPLES = [
    (["P1", "P2", "P3", "P4"], ["R1", "R2", "eos"]),
    (["P1", "P2"], ["R1", "R2", "eos"]),
]
COLORS = {"prompt": "#c6dbef", "response": "#fdae6b", "pad": "#eeeeee", "ignored": "#ffffff"}
L = max(len(p) + len(r) for p, r in EXAMPLES) - 1

fig, ax = plt.subplots(figsize=(8.5, 3.6))
y = 0.0
for b, (prompt, response) in enumerate(EXAMPLES):
    seq = prompt + response
    inputs = seq[:-1] + ["pad"] * (L - len(seq) + 1)
    targets = seq[1:] + ["-100"] * (L - len(seq) + 1)
    for j in range(len(prompt) - 1):
        targets[j] = "-100"
    for row, (label, cells) in enumerate([("inputs", inputs), ("targets", targets)]):
        top = y - row * 0.9
        ax.text(-0.3, top + 0.4, f"example {b + 1} {label}", ha="right", va="center", fontsize=9)
        for j, tok in enumerate(cells):
            if tok == "pad":
                kind = "pad"
            elif tok == "-100":
                kind = "ignored"
            elif label == "inputs":
                kind = "prompt" if j < len(prompt) else "response"
            else:
                kind = "prompt" if j + 1 < len(prompt) else "response"
            ax.add_patch(Rectangle((j, top), 0.92, 0.8, facecolor=COLORS[kind], edgecolor="gray", lw=0.8,
                                   hatch="//" if tok == "-100" else None))
            ax.text(j + 0.46, top + 0.4, tok, ha="center", va="center", fontsize=8,
                    color="gray" if tok == "-100" else "black")
    y -= 2.3
for j in range(L):
    ax.text(j + 0.46, 1.05, str(j), ha="center", fontsize=8, color="gray")
handles = [Rectangle((0, 0), 1, 1, facecolor=COLORS[k], edgecolor="gray", hatch="//" if k == "ignored" else None)
           for k in ("prompt", "response", "pad", "ignored")]
ax.legend(handles, ["prompt token", "response token (learned)", "padding (pad_id)", "ignored target (-100)"],
          loc="lower center", bbox_to_anchor=(0.45, -0.12), ncol=4, fontsize=8, frameon=False)
ax.set_xlim(-3.2, L + 0.2)
ax.set_ylim(y + 1.2, 1.4)
ax.axis("off")
ax.set_title("Instruction batch: targets are the inputs shifted by one; prompt and padding targets are -100",
             fontsize=10)
fig.tight_layout()
fig.savefig(OUT, metadata={"Date": None})
print(f"wrote {OUT}")
