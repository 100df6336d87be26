"""Pause tokens: give a model extra computation steps before it has to answer.

"Think before you speak: Training Language Models With Pause Tokens" (arXiv 2310.02226) adds a
learnable token `<pause>` to the vocabulary. Each pause is one more position whose hidden states
every later position can attend to: extra computation, with nothing to say. The recipe:

- pretraining: insert pauses at uniformly random places in each training sequence;
- fine-tuning and inference: append m pauses after the prompt, then read the answer after them;
- in the loss, never ask the model to *predict* a pause: targets that are pauses are ignored.

You write the three data helpers and `pause_batch`, which lays out a fine-tuning example as
[prompt, pauses, answer] with the loss on the answer only. Token ids are int64 tensors; the model
is unchanged.

Then measure what pauses buy. `pause_experiment` (written for you, run it with
`python exercises/3_llm_edge/10_pause_tokens.py`, about two CPU-minutes) trains the same tiny decoder, built from your
RMSNorm, SwiGLU and grouped-query attention, twice on the same seeded data: once answering right
after the prompt, once after n_pauses appended pauses, and reports both accuracies. The task asks
for the number of different digits in a row of digits: ten "is digit d there?" checks over the
whole prompt, combined, which is the kind of parallel work extra positions could take on. The
notes give the measured numbers; whether the pauses help on such a small model is exactly what
the experiment is for.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

import retreat

_norms = retreat.load_exercise("rmsnorm-swiglu")
_gqa = retreat.load_exercise("gqa")


def insert_pauses(ids: torch.Tensor, pause_id: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Insert `n` pause tokens at uniformly random places in a sequence, keeping its order.

    ids: (T,) token ids. Returns (T + n,): the same tokens in the same order, with `pause_id` at
    n positions drawn uniformly among the T + n slots (the first and the last slot included),
    using `generator` for every random draw, so a seeded generator gives the same result.
    """
    ### TODO: draw n distinct slots out of T + n (torch.randperm with the generator), fill a
    ###       (T + n,) tensor with pause_id, and write ids, in order, into the other slots.
    T = ids.shape[0]
    slots = torch.randperm(T + n, generator=generator)[:n]
    is_pause = torch.zeros(T + n, dtype=torch.bool)
    is_pause[slots] = True
    out = torch.full((T + n,), pause_id, dtype=ids.dtype)
    out[~is_pause] = ids
    return out
    ### END


def append_pauses(ids: torch.Tensor, pause_id: int, m: int) -> torch.Tensor:
    """Append `m` pause tokens after the last position: (..., T) -> (..., T + m)."""
    ### TODO: concatenate a (..., m) block of pause_id after ids along the last axis.
    pauses = torch.full((*ids.shape[:-1], m), pause_id, dtype=ids.dtype)
    return torch.cat([ids, pauses], dim=-1)
    ### END


def pause_loss_mask(targets: torch.Tensor, pause_id: int) -> torch.Tensor:
    """Which loss terms count: a bool tensor shaped like `targets`, False where the target is a pause.

    The masked mean of per-token losses, (loss * mask).sum() / mask.sum(), then ignores every
    prediction of a pause, like cross_entropy(..., ignore_index) would.
    """
    ### TODO: compare targets with pause_id.
    return targets != pause_id
    ### END


def pause_batch(prompts: torch.Tensor, answers: torch.Tensor, pause_id: int,
                n_pauses: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One fine-tuning batch with pauses: the sequence is [prompt, n_pauses pauses, answer].

    prompts: (B, K) token ids; answers: (B,) token ids. Returns (inputs, targets, mask), each
    (B, K + n_pauses): inputs is the sequence without its last token, targets the sequence shifted
    by one (targets[:, t] is what position t must predict), and mask is True only where a loss term
    counts: never where the target is a pause (pause_loss_mask), never where it is a prompt token,
    so exactly at the last position, whose target is the answer.
    """
    ### TODO: seq = cat([append_pauses(prompts, pause_id, n_pauses), answers[:, None]], dim=1);
    ###       inputs = seq[:, :-1], targets = seq[:, 1:]; mask = pause_loss_mask(targets, pause_id),
    ###       then set it to False on the first K - 1 positions (their targets are prompt tokens).
    seq = torch.cat([append_pauses(prompts, pause_id, n_pauses), answers[:, None]], dim=1)  # (B, K + m + 1)
    inputs, targets = seq[:, :-1], seq[:, 1:]
    mask = pause_loss_mask(targets, pause_id)
    mask[:, : prompts.shape[1] - 1] = False  # prompt tokens are given, not predicted
    return inputs, targets, mask
    ### END


# ---- the experiment (written for you) -----------------------------------------------------------

N_DIGITS = 8  # the prompt: 8 digits, tokens 0..9
ANSWER_BASE = 10  # the answer "k different digits" is token 10 + k
PAUSE_ID = ANSWER_BASE + N_DIGITS + 1
VOCAB = PAUSE_ID + 1
MAX_LEN = 32  # position table size, the same for every run so that the initial weights are the same


def distinct_digits_task(batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts (B, N_DIGITS) of random digits and answers (B,): token 10 + the number of different digits."""
    prompts = torch.randint(0, 10, (batch_size, N_DIGITS), generator=generator)
    present = F.one_hot(prompts, 10).amax(dim=1)  # (B, 10): is digit d in the prompt?
    return prompts, ANSWER_BASE + present.sum(dim=1)


class TinyDecoder(nn.Module):
    """A pre-norm causal decoder from the course's pieces: learned positions, then `n_layers` of
    RMSNorm -> grouped-query attention -> RMSNorm -> SwiGLU, then RMSNorm -> linear head."""

    def __init__(self, vocab: int, dim: int, n_layers: int, n_heads: int, hidden: int, max_len: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(max_len, dim)
        def block() -> nn.ModuleList:  # norm, attention (as many kv heads as query heads), norm, MLP
            return nn.ModuleList([_norms.RMSNorm(dim), _gqa.GroupedQueryAttention(dim, n_heads, n_heads),
                                  _norms.RMSNorm(dim), _norms.SwiGLU(dim, hidden)])

        self.blocks = nn.ModuleList(block() for _ in range(n_layers))
        self.norm = _norms.RMSNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))
        for norm1, attn, norm2, mlp in self.blocks:
            x = x + attn(norm1(x))
            x = x + mlp(norm2(x))
        return self.head(self.norm(x))  # (B, T, vocab)


def train_and_evaluate(n_pauses: int, steps: int, seed: int, batch_size: int = 64, eval_size: int = 1000,
                       dim: int = 32, n_layers: int = 2, n_heads: int = 2, hidden: int = 32,
                       lr: float = 3e-3) -> float:
    """Train a fresh TinyDecoder on the task with n_pauses appended pauses; return its accuracy on
    eval_size fresh prompts. Everything random is drawn from generators seeded with `seed`, so
    two calls with the same arguments give the same number, and n_pauses = 0 and n_pauses > 0
    see the same prompts and start from the same weights."""
    assert N_DIGITS + n_pauses <= MAX_LEN, f"at most {MAX_LEN - N_DIGITS} pauses"
    with torch.random.fork_rng():  # seed the initial weights without moving the caller's stream
        torch.manual_seed(seed)
        model = TinyDecoder(VOCAB, dim, n_layers, n_heads, hidden, max_len=MAX_LEN)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    data = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        prompts, answers = distinct_digits_task(batch_size, data)
        inputs, targets, mask = pause_batch(prompts, answers, PAUSE_ID, n_pauses)
        per_token = F.cross_entropy(model(inputs).transpose(1, 2), targets, reduction="none")  # (B, T)
        loss = (per_token * mask).sum() / mask.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    prompts, answers = distinct_digits_task(eval_size, torch.Generator().manual_seed(10_000 + seed))
    inputs, _, _ = pause_batch(prompts, answers, PAUSE_ID, n_pauses)
    with torch.no_grad():
        predicted = model(inputs)[:, -1].argmax(dim=-1)  # the answer is read after the last pause
    return (predicted == answers).float().mean().item()


def pause_experiment(n_pauses: int = 8, steps: int = 1500, seed: int = 0, **kwargs) -> dict[str, float]:
    """The same model, data and seed trained twice: {"no_pauses": accuracy, "pauses": accuracy}."""
    return {"no_pauses": train_and_evaluate(0, steps, seed, **kwargs),
            "pauses": train_and_evaluate(n_pauses, steps, seed, **kwargs)}


if __name__ == "__main__":
    torch.set_num_threads(1)
    for seed in range(3):
        result = pause_experiment(seed=seed)
        print(f"seed {seed}: accuracy without pauses {result['no_pauses']:.3f}, "
              f"with 8 pauses {result['pauses']:.3f}")
