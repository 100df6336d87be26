"""Draw detect_lost_in_the_middle.svg: the harness recovers a U-shaped accuracy curve.

A mock model finds the gold document and answers it correctly with a probability that depends
on the document's slot (high at the ends, low in the middle); the harness of the
lost-in-the-middle exercise measures it back. Run from the course root.
"""

import random
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import retreat  # noqa: E402

plt.rcParams["svg.hashsalt"] = "detect"  # stable ids, so the file only changes when the figure does
lim = retreat.load_solution("lost-in-the-middle")
rng = random.Random(0)
n_docs, n_examples = 20, 300
slots = torch.arange(n_docs, dtype=torch.float32)
true_curve = 0.55 + 0.35 * ((slots - (n_docs - 1) * 0.55) / (n_docs * 0.55)) ** 2  # a lopsided U

examples = []
for k in range(n_examples):
    facts = [f"The code of item {k} is {1000 + k}."]
    facts += [f"The code of item {10_000 + 100 * k + j} is {j}." for j in range(n_docs - 1)]
    examples.append((facts, f"What is the code of item {k}?", str(1000 + k)))


def mock_model(prompt):
    k = int(re.search(r"code of item (\d+)\?", prompt).group(1))
    docs = re.findall(r"Document \[(\d+)\]: (.*)", prompt)
    slot = next(int(i) - 1 for i, text in docs if f"item {k} " in text)
    return str(1000 + k) if rng.random() < true_curve[slot] else "I am not sure."


acc = lim.accuracy_by_position(mock_model, examples)
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(slots + 1, true_curve, "--", color="grey", label="planted accuracy")
ax.plot(slots + 1, acc, "o-", color="C0", label=f"measured ({n_examples} examples per slot)")
ax.set_xlabel("slot of the document that holds the answer")
ax.set_ylabel("accuracy")
ax.set_xticks([1, 5, 10, 15, 20])
ax.set_title(f"Lost in the middle: u_score = {float(lim.u_score(acc)):.2f}")
ax.legend(loc="lower left", fontsize=8)
ax.set_ylim(0.4, 1.0)
fig.tight_layout()
fig.savefig(Path(__file__).resolve().parents[1] / "detect_lost_in_the_middle.svg",
            metadata={"Date": None})
