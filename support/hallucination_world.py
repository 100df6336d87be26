"""A small synthetic world for the hallucination stage: facts, a transformer trained on them,
and the small models of the decoding and training causes.

Everything is generated here from a seed, so the ground truth is known and nothing is downloaded
or written to disk. Load it with `hw = retreat.load_support("hallucination_world")`.

Facts (people, birth cities, birth years; each fact seen a different number of times):

    w = make_world(n_people=200, n_cities=20, n_years=30, max_count=60, zipf=0.8, seed=0)
    w.people[i], w.cities[j], w.years[k]    # names (str) and years (int)
    w.city[i], w.year[i]                    # (n_people,) long: person i's true city / year index
    w.count[i]                              # (n_people,) long: how often fact i is in the corpus;
                                            # max_count / rank**zipf, at least 1: with the
                                            # defaults half the facts (100 of 200) are seen once,
                                            # in a corpus of 595 sentences
    w.vocab_size, w.itos, w.stoi            # the token vocabulary (specials, people, cities, years)
    w.person_token(i), w.city_token(j), w.year_token(k)   # token ids
    w.city_tokens                           # (n_cities,) long: the token ids of all cities
    w.fact_tokens(i) -> list[int]           # [BOS, person, BORN, city, year, EOS]
    w.fact_text(i) -> str                   # "Mira Tolen was born in Varnholm in 1931."
    w.corpus(seed=0) -> (N, 6) long         # every fact repeated count[i] times, shuffled
    w.decode(ids) -> str

A small transformer trained on the corpus (GPT-2 style: pre-norm blocks, learned positions, tied
output head), built on the course's reference solutions of causal-attention and embeddings:

    model = WorldGPT(vocab_size, context_length=6, d_model=32, n_heads=2, n_layers=3)
    model(ids)                              # (B, T) -> logits (B, T, V)
    model.hidden_states(ids)                # n_layers + 1 tensors (B, T, C): the residual stream
                                            # after the embeddings and after each block, BEFORE
                                            # the final norm model.ln_f; the head is model.lm_head
    model = train_world_gpt(w, steps=100, seed=0)      # seeded, CPU, about a second
    w, model = pretrained()                 # the default world and its trained model (cached)
    w, amateur = pretrained_amateur()       # the same run stopped after 30 of its 100 steps: it
                                            # knows which cities are popular, not who was born where
    question_ids(w, people=None) -> (n, 3)  # [BOS, person, BORN]: the question "where was P born?"
    answer_logits(model, w, people=None) -> (n, V)     # logits of the token after the question
    sample_answers(model, w, people=None, n=10, generator=None)
        # per person, n sampled answers "<city> in <year>" (city, then year given the city),
        # de-duplicated in order of first appearance, with log p(city, year | question) (float64)
    same_birthplace(a, b) -> bool           # two such answers name the same city

With the defaults the model knows the facts it saw often (accuracy 1.0 on facts seen 6+ times)
and often guesses a popular city for facts it saw once (accuracy about 0.66, with a higher
entropy): the "rare facts" cause of hallucination, measured in the uncertainty exercise.

Markov models for the decoding cause:

    P = loop_chain(vocab_size=32, loop_len=4, loop_prob=0.6, seed=0)
        # a (V, V) transition matrix with a short high-probability loop 0 -> 1 -> ... -> 0
        # that greedy decoding falls into; used by likelihood-trap.
    successor, Q = cycle_chain(n_states=16, error=0.05, seed=0)
        # a hand-made chain: x[t+1] = successor[x[t]] is the truth (one cycle through all
        # states), and Q (V, V) puts 1 - error on it from EVERY state. Errors compound, but the
        # model is as good off the gold path as on it, so there is no exposure bias; the
        # exposure-bias tests use it to check their formulas, nothing more.
    gold_sequence(successor, start, steps) -> (steps + 1,) long

A model trained with and without teacher forcing, for the training cause (exposure-bias and
scheduled-sampling): it recites a memorised answer from its position and its last token.

    gold = memorised_answer(length=24, vocab_size=16, seed=0)   # (length + 1,) long
    W = train_reciter(gold, vocab_size=16, steps=300, seed=0)   # teacher forcing
    W = train_reciter(gold, 16, inputs_fn=ss.scheduled_inputs, schedule=ss.inverse_sigmoid)
        # scheduled sampling: each step the inputs are inputs_fn(logits, gold, schedule(step),
        # generator), from a first teacher-forced pass, and the targets stay gold
        # W (T, V, V): p(x[t+1] = b | position t, x[t] = a) = softmax(W[t, a])[b]. Trained with
        # label smoothing 0.1, it is about 90% sure of each gold token. A table only learns the
        # rows it is shown: with teacher forcing those are the gold rows (t, gold[t]), and every
        # other row keeps its initial, uniform prediction. That is exposure bias.
    Q = reciter_chain(W)                    # ((T+1) V, (T+1) V) float64: the same model as a
                                            # Markov chain on states s = t * V + token
    states = reciter_states(gold, vocab_size)   # (T + 1,) long: the gold path as states
        # teacher_forced_error(Q, states) and free_running_error(Q, states) of the exposure-bias
        # exercise then measure the model: an error at state t + 1 is a wrong token t + 1.
    reciter_errors(W, gold) -> (teacher_forced (T,), free_running (T,))   # the same, computed
                                            # with the exposure-bias reference solution

This API is stable: other exercises and notes rely on it.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import torch
import torch.nn as nn

import retreat

PAD, BOS, EOS, BORN = 0, 1, 2, 3
SPECIALS = ["<pad>", "<bos>", "<eos>", "born"]

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]


def _name(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)).capitalize()


def _unique_names(rng: random.Random, n: int, make) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = make()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


@dataclass(frozen=True)
class World:
    """People with a birth city and a birth year; fact i appears count[i] times in the corpus."""

    people: list[str]
    cities: list[str]
    years: list[int]
    city: torch.Tensor  # (n_people,) index into cities
    year: torch.Tensor  # (n_people,) index into years
    count: torch.Tensor  # (n_people,) occurrences of fact i in the corpus
    itos: list[str] = field(repr=False)
    stoi: dict[str, int] = field(repr=False)

    @property
    def n_people(self) -> int:
        return len(self.people)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def person_token(self, i: int) -> int:
        return len(SPECIALS) + i

    def city_token(self, j: int) -> int:
        return len(SPECIALS) + len(self.people) + j

    def year_token(self, k: int) -> int:
        return len(SPECIALS) + len(self.people) + len(self.cities) + k

    @property
    def city_tokens(self) -> torch.Tensor:
        return torch.arange(len(self.cities)) + self.city_token(0)

    def fact_tokens(self, i: int) -> list[int]:
        """Person i's fact as tokens: [BOS, person, BORN, city, year, EOS]."""
        return [BOS, self.person_token(i), BORN, self.city_token(int(self.city[i])),
                self.year_token(int(self.year[i])), EOS]

    def fact_text(self, i: int) -> str:
        return (f"{self.people[i]} was born in {self.cities[int(self.city[i])]} "
                f"in {self.years[int(self.year[i])]}.")

    def decode(self, ids) -> str:
        return " ".join(self.itos[int(t)] for t in ids)

    def corpus(self, seed: int = 0) -> torch.Tensor:
        """Every fact repeated count[i] times, in a seeded random order: (N, 6) long."""
        rows = [self.fact_tokens(i) for i in range(self.n_people) for _ in range(int(self.count[i]))]
        order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))
        return torch.tensor(rows, dtype=torch.long)[order]


def make_world(n_people: int = 200, n_cities: int = 20, n_years: int = 30, max_count: int = 60,
               zipf: float = 0.8, seed: int = 0) -> World:
    """A seeded world. Fact counts follow max_count / rank**zipf (at least 1), in random order.

    Cities are Zipf-popular too (city 0 is the most common birthplace), so a model that does not
    know a person's city can still guess the popular ones: that guess is the hallucination.
    """
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    people = _unique_names(rng, n_people, lambda: f"{_name(rng, 2)} {_name(rng, 2)}")
    cities = _unique_names(rng, n_cities, lambda: _name(rng, 3))
    years = list(range(1950, 1950 + n_years))
    city_popularity = 1.0 / torch.arange(1, n_cities + 1, dtype=torch.float64)
    city = torch.multinomial(city_popularity, n_people, replacement=True, generator=g)
    year = torch.randint(n_years, (n_people,), generator=g)
    ranks = torch.randperm(n_people, generator=g).double() + 1
    count = (max_count / ranks**zipf).round().clamp(min=1).long()
    itos = SPECIALS + people + cities + [str(y) for y in years]
    return World(people, cities, years, city, year, count, itos, {s: i for i, s in enumerate(itos)})


# ---- a small transformer trained on the world ---------------------------------------------------

@contextmanager
def _one_thread() -> Iterator[None]:
    # Tiny models train faster on one thread, and the result does not depend on the machine's
    # core count.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention on the reference scaled_dot_product_attention."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self._attend = retreat.load_solution("causal-attention").scaled_dot_product_attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        qkv = self.qkv_proj(x).view(B, T, 3, self.n_heads, C // self.n_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, T, d)
        y = self._attend(q, k, v, causal=True)  # (B, H, T, d)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    """A pre-norm transformer block, as in GPT-2."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class WorldGPT(nn.Module):
    """A small GPT over the world's tokens: embeddings, n_layers blocks, ln_f, a tied lm_head."""

    def __init__(self, vocab_size: int, context_length: int = 6, d_model: int = 32,
                 n_heads: int = 2, n_layers: int = 3):
        super().__init__()
        embeddings = retreat.load_solution("embeddings")
        self.emb = embeddings.TokenAndPositionEmbedding(vocab_size, context_length, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        self.lm_head.weight = self.emb.tok_emb.weight  # tied, as in GPT-2
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        # A wider token table than GPT-2's 0.02 lets plain SGD leave its initial plateau within
        # a hundred steps.
        nn.init.normal_(self.emb.tok_emb.weight, std=0.3)

    def hidden_states(self, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The residual stream after the embeddings and after each block, before ln_f."""
        x = self.emb(ids)  # (B, T, C)
        states = [x]
        for block in self.blocks:
            x = block(x)
            states.append(x)
        return tuple(states)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V)."""
        return self.lm_head(self.ln_f(self.hidden_states(ids)[-1]))


def _train_world_gpt(world: World, steps: int, lr: float, seed: int,
                     keep: tuple[int, ...] = ()) -> list[WorldGPT]:
    with torch.random.fork_rng():  # seed the initialisation without touching the caller's RNG
        torch.manual_seed(seed)
        model = WorldGPT(world.vocab_size)
    facts = torch.tensor([world.fact_tokens(i) for i in range(world.n_people)])  # (n, 6)
    inputs, targets = facts[:, :-1], facts[:, 3:]  # targets: city, year, EOS
    weight = (world.count / world.count.sum()).float()  # (n,)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    kept = []
    with _one_thread():
        for step in range(1, steps + 1):
            logp = model(inputs)[:, 2:].log_softmax(-1)  # (n, 3, V): city, year, EOS predictions
            per_fact = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1).mean(1)  # (n,)
            loss = (per_fact * weight).sum()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step in keep:
                kept.append(copy.deepcopy(model).eval())
    return [*kept, model.eval()]


def train_world_gpt(world: World, steps: int = 100, lr: float = 0.3, seed: int = 0) -> WorldGPT:
    """Train a WorldGPT on the world's corpus; returns it in eval mode.

    The loss is the corpus loss on the answer tokens (city, year, EOS), computed once per distinct
    fact and weighted by count[i]: the gradient of a pass over world.corpus(), much cheaper. Plain
    SGD with momentum (not Adam, whose per-parameter scaling would give a fact seen once as large
    a step as one seen 60 times) keeps the update a fact receives proportional to how often it is
    seen, as in pretraining, where a fact seen once gets one gradient step.
    """
    return _train_world_gpt(world, steps, lr, seed)[-1]


@lru_cache(maxsize=2)
def _pretrained_pair(seed: int) -> tuple[World, WorldGPT, WorldGPT]:
    world = make_world(seed=seed)
    amateur, expert = _train_world_gpt(world, steps=100, lr=0.3, seed=seed, keep=(30,))
    return world, expert, amateur


def pretrained(seed: int = 0) -> tuple[World, WorldGPT]:
    """The default world and its trained WorldGPT (cached; do not train it further in place)."""
    world, expert, _ = _pretrained_pair(seed)
    return world, expert


def pretrained_amateur(seed: int = 0) -> tuple[World, WorldGPT]:
    """The same training run as pretrained(), stopped after 30 of its 100 steps (cached)."""
    world, _, amateur = _pretrained_pair(seed)
    return world, amateur


def question_ids(world: World, people=None) -> torch.Tensor:
    """The question [BOS, person, BORN] for each person: (n, 3) long."""
    people = torch.arange(world.n_people) if people is None else torch.as_tensor(people)
    return torch.stack([torch.full_like(people, BOS), people + world.person_token(0),
                        torch.full_like(people, BORN)], dim=1)


@torch.no_grad()
def answer_logits(model: nn.Module, world: World, people=None) -> torch.Tensor:
    """Logits (n, V) for the token that follows [BOS, person, BORN]: the model's birth city."""
    return model(question_ids(world, people))[:, -1]  # (n, V)


@torch.no_grad()
def sample_answers(model: nn.Module, world: World, people=None, n: int = 10,
                   generator: torch.Generator | None = None) -> list[tuple[list[str], torch.Tensor]]:
    """Sample n answers per person (a city, then a year given it) at temperature 1.

    Returns one (answers, logprobs) pair per person: the distinct answer strings "<city> in
    <year>" in order of first appearance, and their log p(city, year | question) under the model,
    a (len(answers),) float64 tensor.
    """
    questions = question_ids(world, people)  # (P, 3)
    P = len(questions)
    ids = questions.repeat_interleave(n, dim=0)  # (P n, 3)
    total = torch.zeros(P * n, dtype=torch.float64)
    for _ in range(2):  # the city, then the year
        logp = model(ids)[:, -1].double().log_softmax(-1)  # (P n, V)
        nxt = torch.multinomial(logp.exp(), 1, generator=generator)  # (P n, 1)
        total += logp.gather(-1, nxt).squeeze(-1)
        ids = torch.cat([ids, nxt], dim=1)
    results = []
    for p in range(P):
        seen: dict[str, float] = {}
        for row in range(p * n, (p + 1) * n):
            text = f"{world.itos[int(ids[row, 3])]} in {world.itos[int(ids[row, 4])]}"
            seen.setdefault(text, float(total[row]))
        results.append((list(seen), torch.tensor(list(seen.values()), dtype=torch.float64)))
    return results


def same_birthplace(a: str, b: str) -> bool:
    """Two answers "<city> in <year>" mean the same for "where was P born?" when the city agrees."""
    return a.split(" in ")[0] == b.split(" in ")[0]


# ---- Markov models ------------------------------------------------------------------------------

def cycle_chain(n_states: int = 16, error: float = 0.05, seed: int = 0
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The true process is a single cycle; the model puts 1 - error on it, the rest evenly elsewhere.

    Returns (successor (V,) long, Q (V, V) float64 with rows summing to 1).
    """
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n_states, generator=g)
    successor = torch.empty(n_states, dtype=torch.long)
    successor[order] = order.roll(-1)
    Q = torch.full((n_states, n_states), error / (n_states - 1), dtype=torch.float64)
    Q[torch.arange(n_states), successor] = 1.0 - error
    return successor, Q


def gold_sequence(successor: torch.Tensor, start: int, steps: int) -> torch.Tensor:
    """The true sequence start, successor[start], ...: (steps + 1,) long."""
    seq = [int(start)]
    for _ in range(steps):
        seq.append(int(successor[seq[-1]]))
    return torch.tensor(seq, dtype=torch.long)


def loop_chain(vocab_size: int = 32, loop_len: int = 4, loop_prob: float = 0.6,
               seed: int = 0) -> torch.Tensor:
    """A (V, V) float64 transition matrix with a high-probability loop 0 -> 1 -> ... -> loop_len-1 -> 0.

    Loop states move to the next loop state with probability loop_prob and spread the rest over
    all other tokens. Every other state has a random, fairly flat row whose largest entry points
    into the loop, so greedy decoding enters the loop within a step and never leaves.
    """
    g = torch.Generator().manual_seed(seed)
    P = torch.rand(vocab_size, vocab_size, generator=g, dtype=torch.float64) + 0.5
    entry = torch.randint(loop_len, (vocab_size,), generator=g)
    for s in range(vocab_size):
        if s < loop_len:
            P[s, (s + 1) % loop_len] = 0.0
            P[s] = P[s] / P[s].sum() * (1 - loop_prob)
            P[s, (s + 1) % loop_len] = loop_prob
        else:
            P[s, entry[s]] = 2.0 * P[s].max()
            P[s] = P[s] / P[s].sum()
    return P


# ---- exposure bias: a model trained on the gold path only, or with scheduled sampling -----------

def memorised_answer(length: int = 24, vocab_size: int = 16, seed: int = 0) -> torch.Tensor:
    """A seeded random token sequence the model must recite: (length + 1,) long."""
    return torch.randint(vocab_size, (length + 1,), generator=torch.Generator().manual_seed(seed))


def train_reciter(gold: torch.Tensor, vocab_size: int, steps: int = 300, batch: int = 64,
                  lr: float = 0.1, label_smoothing: float = 0.1,
                  inputs_fn: Callable | None = None, schedule: Callable[[int], float] | None = None,
                  seed: int = 0) -> torch.Tensor:
    """Train the table W (T, V, V) of p(x[t+1] | position t, x[t]) to recite `gold` (T + 1,).

    Teacher forcing when inputs_fn is None. Otherwise scheduled sampling: at step i a first pass
    on the gold inputs gives logits (batch, T, V), and the second pass, which is trained, reads
    inputs_fn(logits, gold_inputs, schedule(i), generator) instead of the gold inputs. Targets are
    always gold[1:], smoothed by label_smoothing. Rows start at 0 (a uniform prediction), and Adam
    moves only the rows the inputs visit. Returns W detached, float32.
    """
    T, V = len(gold) - 1, vocab_size
    g = torch.Generator().manual_seed(seed)
    W = torch.zeros(T, V, V, requires_grad=True)
    opt = torch.optim.Adam([W], lr=lr)
    positions = torch.arange(T)
    gold_inputs = gold[:-1].expand(batch, T)  # (batch, T)
    target = torch.full((T, V), label_smoothing / V)
    target[positions, gold[1:]] += 1.0 - label_smoothing  # (T, V): smoothed one-hot targets
    with _one_thread():
        for step in range(steps):
            inputs = gold_inputs
            if inputs_fn is not None:
                with torch.no_grad():
                    first_pass = W[positions, gold_inputs]  # (batch, T, V)
                inputs = inputs_fn(first_pass, gold_inputs.clone(), schedule(step), g)
            logp = W[positions, inputs].log_softmax(-1)  # (batch, T, V)
            loss = -(target * logp).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return W.detach()


def reciter_chain(W: torch.Tensor) -> torch.Tensor:
    """The reciter as a Markov chain on states s = t * V + token: ((T+1) V, (T+1) V) float64.

    Row t * V + a holds softmax(W[t, a]) in the columns of position t + 1; the states of the last
    position T stay where they are (rows must sum to 1, and nothing is predicted from there).
    """
    T, V, _ = W.shape
    S = (T + 1) * V
    Q = torch.zeros(S, S, dtype=torch.float64)
    probs = W.double().softmax(-1)  # (T, V, V)
    for t in range(T):
        Q[t * V:(t + 1) * V, (t + 1) * V:(t + 2) * V] = probs[t]
    last = torch.arange(T * V, S)
    Q[last, last] = 1.0
    return Q


def reciter_states(gold: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """The gold path as chain states t * V + gold[t]: (T + 1,) long."""
    return torch.arange(len(gold)) * vocab_size + gold


def reciter_errors(W: torch.Tensor, gold: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(teacher-forced error, free-running error), each (T,) float64, by the exposure-bias reference."""
    eb = retreat.load_solution("exposure-bias")
    Q, states = reciter_chain(W), reciter_states(gold, W.shape[-1])
    return eb.teacher_forced_error(Q, states), eb.free_running_error(Q, states)
