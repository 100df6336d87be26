"""Instruction fine-tuning: batch prompt/response pairs so that only the response is learned.

An instruction example is a prompt (the instruction, maybe an input, and the template around
them) followed by the response the model should learn to give. We train on the concatenation
with the usual next-token loss, but we do not want to teach the model to write prompts: the
targets that would predict prompt tokens are replaced by `ignore_index`, and so are the padding
positions. The loss then averages only over the response tokens.

You write:

- `collate(batch, pad_id, ignore_index=-100, mask_prompt=True) -> (inputs, targets)`.
- `masked_cross_entropy(logits, targets, ignore_index=-100)`: the mean loss over the targets that
  are not `ignore_index`, by hand; it must equal `F.cross_entropy(..., ignore_index=...)`.

A batch is a list of dicts, each `{"prompt": list[int], "response": list[int]}` of token ids;
the prompt has at least one token, and the response already ends with the end-of-text token.
Neither function may modify its inputs: `prompt + response` builds a new list, while
`seq = prompt; seq += response` extends the caller's prompt in place (the dataset then grows a
little at every epoch), and `targets[~valid] = 0` erases the caller's ignore marks.
"""

import torch


def collate(batch: list[dict], pad_id: int, ignore_index: int = -100,
            mask_prompt: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of prompt/response examples into `(inputs, targets)`, both LongTensors (B, L).

    For each example let `seq = prompt + response` (n tokens). Its row of `inputs` is `seq[:-1]`
    and its row of `targets` is `seq[1:]`, both of length n - 1; L is the largest n - 1 of the batch.
    Shorter rows are padded on the right: `inputs` with `pad_id`, `targets` with `ignore_index`.
    With `mask_prompt`, the targets that are prompt tokens (the first len(prompt) - 1 of them)
    become `ignore_index` as well, so the first target kept is the first response token.
    Padding is found by position, never by value: `pad_id` may be a real token (often the
    end-of-text id), and a real end-of-text target must stay.

    Example, prompt [5, 6, 7], response [8, 9], mask_prompt=True:
        inputs  [5, 6, 7, 8]
        targets [-100, -100, 8, 9]
    """
    ### TODO: allocate inputs (B, L) full of pad_id and targets (B, L) full of ignore_index; copy
    ###       seq[:-1] and seq[1:] into the start of each row; with mask_prompt, overwrite the
    ###       first len(prompt) - 1 targets of the row with ignore_index.
    B = len(batch)
    L = max(len(item["prompt"]) + len(item["response"]) for item in batch) - 1
    inputs = torch.full((B, L), pad_id, dtype=torch.long)
    targets = torch.full((B, L), ignore_index, dtype=torch.long)
    for b, item in enumerate(batch):
        prompt, response = item["prompt"], item["response"]
        seq = torch.tensor(prompt + response, dtype=torch.long)  # a new list, then a tensor
        n = len(seq) - 1
        inputs[b, :n] = seq[:-1]
        targets[b, :n] = seq[1:]
        if mask_prompt:
            targets[b, : len(prompt) - 1] = ignore_index
    return inputs, targets
    ### END


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean of -log softmax(logits)[target] over the positions whose target is not `ignore_index`.

    logits: (..., V); targets: (...) token ids or `ignore_index`. Returns a scalar tensor.
    Ignored positions contribute nothing, not even to the count we divide by. When every target
    is ignored there is nothing to average: NaN (0 / 0), as F.cross_entropy returns.
    """
    ### TODO: log_softmax over the vocabulary; gather the log-probability of each target (replace
    ###       ignored targets by a valid id such as 0 before gathering); zero the ignored terms;
    ###       divide the sum by the number of kept positions.
    valid = targets != ignore_index  # (...)
    log_probs = torch.log_softmax(logits, dim=-1)  # (..., V)
    picked = log_probs.gather(-1, targets.masked_fill(~valid, 0).unsqueeze(-1)).squeeze(-1)  # (...)
    return -picked.masked_fill(~valid, 0.0).sum() / valid.sum()
    ### END
