"""Exposure bias: trained on true prefixes, run on its own.

A language model is trained with teacher forcing: at step t it sees the *true* prefix and is
scored on the next token. At generation time it is free-running: it conditions on its *own*
earlier tokens, mistakes included. One wrong token moves the model to a prefix it never saw in
training, where it has learned nothing, and it rarely finds its way back.

We measure this exactly on Markov chains, where both errors have closed forms. The truth is a
gold path of states gold[0], gold[1], ..., gold[T]; the model is a transition matrix Q (S, S),
Q[a, b] = q(next state = b | current state = a).

    teacher_forced_error(Q, gold) -> (T,)
        err[t] = 1 - Q[gold[t], gold[t + 1]]: the chance that a sample misses the next gold
        state when the model is given the gold prefix.
    free_running_error(Q, gold) -> (T,)
        err[t] = P(x[t + 1] != gold[t + 1]) when x[0] = gold[0] and every later state is sampled
        from the model, x[s + 1] ~ Q[x[s]]. The distribution of x[s] is the row vector
        q[s] = onehot(gold[0]) @ Q^s, so err[t] = 1 - q[t + 1][gold[t + 1]].
    sample_free_running(Q, start, steps, n, generator=None) -> (n, steps + 1) long
        n independent rollouts from `start`, all n advanced together, one torch.multinomial per
        step (with `generator`).
    monte_carlo_error(Q, gold, n, generator=None) -> (error (T,), stderr (T,))
        the free-running error estimated from n rollouts: the fraction of rollouts whose state
        at t + 1 differs from gold[t + 1] (a rollout that slipped and came back counts as right
        again), and its standard error sqrt(e (1 - e) / n), with n, not n - 1.

Shapes: Q is (S, S) float64 with rows summing to 1; gold is (T + 1,) long; errors are (T,)
float64. No function changes its inputs.

The model to measure is trained (support/hallucination_world.py): a table of
p(next token | position, last token) that learned to recite a memorised answer with teacher
forcing, about 90% sure of each gold token. Written as a chain on the states
position * V + token, an error at state t + 1 is a wrong token t + 1:

    hw = retreat.load_support("hallucination_world")
    gold = hw.memorised_answer()                 # 25 tokens over V = 16
    W = hw.train_reciter(gold, 16)               # teacher forcing
    Q, states = hw.reciter_chain(W), hw.reciter_states(gold, 16)
    teacher_forced_error(Q, states), free_running_error(Q, states)

Teacher forcing only ever showed it the gold rows; after its first slip it stands on a row it
never trained, and the free-running error climbs far above the teacher-forced one.

Your task: write the four functions. The tests compare the formulas with a brute-force sum over
all paths and with Monte Carlo (within 3 standard errors), and measure the trained model.
"""

import torch


def teacher_forced_error(Q: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Per-step error given the gold prefix: (V, V), (T + 1,) -> (T,)."""
    # TODO: 1 - Q[gold[t], gold[t + 1]] for every t at once (index Q with two tensors).
    raise NotImplementedError


def free_running_error(Q: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Per-step error of free-running generation from gold[0]: (V, V), (T + 1,) -> (T,)."""
    # TODO: start from q = one-hot of gold[0] (V,), in Q's dtype. For each t: advance the
    #       distribution one step, q = q @ Q, then record 1 - q[gold[t + 1]].
    raise NotImplementedError


def sample_free_running(Q: torch.Tensor, start: int, steps: int, n: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """n rollouts of `steps` sampled tokens after `start`: (n, steps + 1) long."""
    # TODO: x = a (n,) tensor filled with start. Each step: the rows Q[x] (n, V), one
    #       torch.multinomial(rows, 1, generator=generator) sample per row. Stack the steps.
    raise NotImplementedError


def monte_carlo_error(Q: torch.Tensor, gold: torch.Tensor, n: int,
                      generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Free-running error estimated from n rollouts, and its standard error: two (T,) tensors."""
    # TODO: sample n rollouts of len(gold) - 1 steps from gold[0]; error[t] = the mean over
    #       rollouts of (rollout[:, t + 1] != gold[t + 1]) as float64; stderr = sqrt(e(1-e)/n).
    raise NotImplementedError
