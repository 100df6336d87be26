"""The likelihood trap: the most likely text is not good text.

Decoding by always taking the most likely next token (greedy, or beam search) finds text with a
high probability under the model, yet that text is often degenerate: it loops. On a real model the
loop is a repeated sentence; here it is a toy Markov language model with a short, high-probability
loop (support/hallucination_world.py):

    hw = retreat.load_support("hallucination_world")
    P = hw.loop_chain()       # (V, V) float64: P[a, b] = probability that token b follows token a;
                              # tokens 0 -> 1 -> 2 -> 3 -> 0 each follow the previous with p = 0.6

You write two diversity measures, a decoder and a scorer:

    distinct_n(tokens, n)          number of distinct n-grams / number of n-grams (0.0 when the
                                   sequence is shorter than n). 1.0 = no n-gram repeats.
    repetition_rate(tokens, window=16)
                                   fraction of the tokens tokens[1:] that already occur among the
                                   `window` tokens just before them (tokens[max(0, t-window):t]).
    generate_markov(transition, start, steps, greedy=False, top_p=1.0, generator=None)
                                   a (steps + 1,) long sequence starting with `start`: each next
                                   token is the argmax of the current row when greedy, otherwise a
                                   sample (torch.multinomial with `generator`) from the row after
                                   your top_p_filter from the nucleus-sampling exercise.
    mean_logprob(transition, tokens)
                                   mean over t of log transition[tokens[t], tokens[t + 1]].

tokens may be a list of ints or a 1-D long tensor; no function changes its inputs (the
transition matrix, the token list). Greedy decoding takes the argmax, the lowest id on a tie
(as torch.argmax does). The trap, measured: the greedy sequence has a
higher mean log-probability than a nucleus sample, and a far lower distinct-4.

Your task: write the four functions. The tests check them on small hand examples, then check that
greedy decoding falls into the loop while nucleus sampling (seeded) does not.
"""

import torch

import retreat

nucleus = retreat.load_exercise("nucleus-sampling")


def distinct_n(tokens, n: int) -> float:
    """Distinct n-grams divided by the number of n-grams (len(tokens) - n + 1); 0.0 if none."""
    ### TODO: make the list of n-grams as tuples, tokens[i:i + n] for i in range(len - n + 1),
    ###       and divide the number of distinct ones (a set) by the number of n-grams (0.0 if none).
    tokens = [int(t) for t in tokens]
    ngrams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    if not ngrams:
        return 0.0
    return len(set(ngrams)) / len(ngrams)
    ### END


def repetition_rate(tokens, window: int = 16) -> float:
    """Fraction of tokens[1:] that occur among the `window` tokens before them."""
    ### TODO: for t = 1 .. len - 1, count tokens[t] in tokens[max(0, t - window):t];
    ###       divide the count of repeats by len - 1 (0.0 for fewer than two tokens).
    tokens = [int(t) for t in tokens]
    if len(tokens) < 2:
        return 0.0
    repeats = sum(tokens[t] in tokens[max(0, t - window):t] for t in range(1, len(tokens)))
    return repeats / (len(tokens) - 1)
    ### END


def generate_markov(transition: torch.Tensor, start: int, steps: int, greedy: bool = False,
                    top_p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Decode `steps` tokens from a Markov LM (V, V) after `start`: a (steps + 1,) long tensor."""
    tokens = [int(start)]
    for _ in range(steps):
        ### TODO: take the row of the current token. Greedy: its argmax. Otherwise: logits =
        ###       row.log() (log 0 = -inf is fine), filter with nucleus.top_p_filter, softmax,
        ###       and draw one token with torch.multinomial(..., 1, generator=generator).
        ###       Append the new token to `tokens`.
        row = transition[tokens[-1]]  # (V,)
        if greedy:
            nxt = int(row.argmax())
        else:
            logits = nucleus.top_p_filter(row.log().unsqueeze(0), top_p)  # (1, V)
            nxt = int(torch.multinomial(logits.softmax(-1), 1, generator=generator))
        tokens.append(nxt)
        ### END
    return torch.tensor(tokens, dtype=torch.long)


def mean_logprob(transition: torch.Tensor, tokens) -> float:
    """Mean log-probability per transition of a token sequence under the Markov LM."""
    ### TODO: the probabilities transition[tokens[:-1], tokens[1:]] (advanced indexing),
    ###       then the mean of their log, as a float.
    tokens = torch.as_tensor(tokens, dtype=torch.long)
    return transition[tokens[:-1], tokens[1:]].log().mean().item()
    ### END
