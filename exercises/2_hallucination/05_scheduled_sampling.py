"""Scheduled sampling: show the model its own predictions during training, a little more each step.

Exposure bias comes from training only on gold prefixes. Scheduled sampling (arXiv 1506.03099)
feeds the model, at each input position, the gold token with probability epsilon and the
model's own prediction otherwise, and lowers epsilon during training: from pure teacher forcing
(epsilon = 1) towards mostly free-running inputs. With a transformer this takes two passes: a
teacher-forced pass gives the predictions, a second pass trains on the mixed inputs.

    mix_tokens(gold, predicted, epsilon, generator=None) -> same shape as gold
        independently at every position: gold with probability epsilon, predicted otherwise
        (one torch.rand draw per position, with `generator`; gold where the draw < epsilon).
    scheduled_inputs(logits, gold, epsilon, generator=None, greedy=False) -> (B, T) long
        the inputs of the second pass. logits (B, T, V) come from the teacher-forced pass on
        gold (B, T): logits[:, t] predicts gold[:, t + 1], so the model's guess for position
        t >= 1 is drawn from softmax(logits[:, t - 1]) (with `generator`), as in the paper, or
        is its argmax when greedy=True. Position 0 (the prompt / BOS) stays gold; positions 1..
        are mix_tokens(gold[:, 1:], guesses, epsilon, generator). Sampled guesses matter: a
        model that is 90% sure of the gold token has the gold token as its argmax everywhere,
        so greedy guesses would never show it a mistake.

The three decay schedules of the paper, epsilon as a function of the training step i (floats):

    linear(step, k=1.0, c=0.001, eps_min=0.0)    max(eps_min, k - c * step)
    exponential(step, k=0.999)                   k ** step              (k < 1)
    inverse_sigmoid(step, k=100.0)               k / (k + exp(step / k)) (k >= 1)

No function changes its inputs. The order in which the random draws are taken is yours: the
tests only ask that a seeded generator reproduces a result and that the frequencies are right.

Your task: write the five functions. The tests check that epsilon = 1 gives gold and 0 gives the
guesses, that the empirical rate of gold tokens is epsilon, that sampled guesses follow the
model's distribution at the previous position, that every schedule starts where it should, never
increases and stays in [0, 1] (also for a step of a million), and, on the memorised-answer model
of support/hallucination_world.py, that training on your mixed inputs shrinks the gap between
free-running and teacher-forced error (the exposure-bias exercise measures it):

    hw = retreat.load_support("hallucination_world")
    gold = hw.memorised_answer()
    W = hw.train_reciter(gold, 16, inputs_fn=scheduled_inputs,
                         schedule=lambda step: inverse_sigmoid(step, k=30.0))
    teacher_forced, free_running = hw.reciter_errors(W, gold)
"""

import math  # noqa: F401 (math.exp is yours to call)

import torch


def mix_tokens(gold: torch.Tensor, predicted: torch.Tensor, epsilon: float,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Gold with probability epsilon, predicted otherwise, independently per position."""
    # TODO: draw torch.rand(gold.shape, generator=generator); keep gold where the draw is
    #       < epsilon and take predicted elsewhere (torch.where).
    raise NotImplementedError


def scheduled_inputs(logits: torch.Tensor, gold: torch.Tensor, epsilon: float,
                     generator: torch.Generator | None = None, greedy: bool = False) -> torch.Tensor:
    """Second-pass inputs: (B, T, V) teacher-forced logits and (B, T) gold -> (B, T) long."""
    # TODO: the guesses for positions 1..T-1 come from logits[:, :-1]: their argmax when
    #       greedy, otherwise one torch.multinomial draw (with `generator`) from each row's
    #       softmax, the rows flattened to (B * (T - 1), V). Mix them with gold[:, 1:], and put
    #       gold[:, :1] back in front (torch.cat on dim 1).
    raise NotImplementedError


def linear(step: float, k: float = 1.0, c: float = 0.001, eps_min: float = 0.0) -> float:
    """Linear decay from k by c per step, never below eps_min."""
    # TODO: max(eps_min, k - c * step).
    raise NotImplementedError


def exponential(step: float, k: float = 0.999) -> float:
    """Exponential decay k ** step (k < 1)."""
    # TODO: k ** step.
    raise NotImplementedError


def inverse_sigmoid(step: float, k: float = 100.0) -> float:
    """Inverse-sigmoid decay k / (k + exp(step / k)) (k >= 1); 0.0 once exp overflows."""
    # TODO: k / (k + exp(step / k)). math.exp raises OverflowError beyond about 709: return 0.0
    #       then (the true value is below 1e-300).
    raise NotImplementedError
