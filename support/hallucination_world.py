"""A small synthetic world for the hallucination stage: facts, their token sequences, a tiny LM.

Everything is generated here from a seed, so the ground truth is known and nothing is downloaded.
Load it with `world = retreat.load_support("hallucination_world")`.

Facts (people, birth cities, birth years; each fact seen a different number of times):

    w = make_world(n_people=200, n_cities=20, n_years=30, max_count=60, zipf=0.8, seed=0)
    w.people[i], w.cities[j], w.years[k]    # names (str) and years (int)
    w.city[i], w.year[i]                    # (n_people,) long: person i's true city / year index
    w.count[i]                              # (n_people,) long: how often fact i is in the corpus;
                                            # max_count / rank**zipf, at least 1: with the
                                            # defaults half the facts are seen once
    w.vocab_size, w.itos, w.stoi            # the token vocabulary (specials, people, cities, years)
    w.person_token(i), w.city_token(j), w.year_token(k)   # token ids
    w.city_tokens                           # (n_cities,) long: the token ids of all cities
    w.fact_tokens(i) -> list[int]           # [BOS, person, BORN, city, year, EOS]
    w.fact_text(i) -> str                   # "Mira Tolen was born in Varnholm in 1931."
    w.corpus(seed=0) -> (N, 6) long         # every fact repeated count[i] times, shuffled
    w.decode(ids) -> str

A tiny language model over those sentences (a fixed-window MLP, trains in well under a second):

    model = FactLM(vocab_size, context=3, dim=16, hidden=32)
    model(ids)                              # (B, T) -> (B, T, V); logits[:, t] predicts ids[:, t+1]
                                            # from ids[:, t-context+1 : t+1] (PAD before the start)
    model = train_fact_lm(w, steps=60, seed=0)         # full-batch SGD on the corpus loss
    answer_logits(model, w, people=None) -> (n, V)     # logits for the token after [BOS, P, BORN]
    w, model = pretrained()                 # the default world and its trained model (cached)

With the defaults the model knows the facts it saw often (accuracy 1.0 on facts seen 6+ times)
and often guesses a popular city for facts it saw once (accuracy about 0.66, with a higher
entropy): the "rare facts" cause of hallucination, measured in the uncertainty exercise.

Markov chains for the inference and training causes:

    successor, Q = cycle_chain(n_states=16, error=0.05, seed=0)
        # the truth: x[t+1] = successor[x[t]] (a single cycle through all states);
        # the model Q (V, V): probability 1 - error on the true successor, `error` spread evenly
        # over the other states. Used by exposure-bias and scheduled-sampling.
    gold_sequence(successor, start, steps) -> (steps + 1,) long
    P = loop_chain(vocab_size=32, loop_len=4, loop_prob=0.6, seed=0)
        # a (V, V) transition matrix with a short high-probability loop 0 -> 1 -> ... -> 0
        # that greedy decoding falls into; used by likelihood-trap.

This API is stable: other exercises and notes rely on it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

import torch
import torch.nn as nn
import torch.nn.functional as F

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


class FactLM(nn.Module):
    """A fixed-window MLP language model: the next token from the last `context` tokens."""

    def __init__(self, vocab_size: int, context: int = 3, dim: int = 16, hidden: int = 32):
        super().__init__()
        self.context = context
        self.emb = nn.Embedding(vocab_size, dim)
        self.fc = nn.Linear(context * dim, hidden)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        padded = F.pad(ids, (self.context - 1, 0), value=PAD)  # (B, T + context - 1)
        windows = padded.unfold(1, self.context, 1)  # (B, T, context)
        x = self.emb(windows).flatten(2)  # (B, T, context * dim)
        return self.head(torch.tanh(self.fc(x)))  # (B, T, V)


def train_fact_lm(world: World, steps: int = 60, lr: float = 1.5, weight_decay: float = 1e-3,
                  seed: int = 0) -> FactLM:
    """Train a FactLM on the world's corpus with full-batch SGD; returns it in eval mode.

    The loss is the corpus loss on the answer tokens (city, year, EOS), computed once per distinct
    fact and weighted by count[i]: the same gradient as a pass over world.corpus(), much cheaper.
    Plain SGD (not Adam) keeps the update a fact receives proportional to how often it is seen.
    """
    with torch.random.fork_rng():  # seed the initialisation without touching the caller's RNG
        torch.manual_seed(seed)
        model = FactLM(world.vocab_size)
    facts = torch.tensor([world.fact_tokens(i) for i in range(world.n_people)])  # (n, 6)
    inputs, targets = facts[:, :-1], facts[:, 1:]
    weight = (world.count / world.count.sum()).float()  # (n,)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    for _ in range(steps):
        logits = model(inputs)[:, 2:]  # (n, 3, V): the city, year and EOS predictions
        per_fact = F.cross_entropy(logits.transpose(1, 2), targets[:, 2:], reduction="none").mean(1)
        loss = (per_fact * weight).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def answer_logits(model: FactLM, world: World, people=None) -> torch.Tensor:
    """Logits (n, V) for the token that follows [BOS, person, BORN]: the model's birth city."""
    people = torch.arange(world.n_people) if people is None else torch.as_tensor(people)
    prompts = torch.stack([torch.full_like(people, BOS), people + world.person_token(0),
                           torch.full_like(people, BORN)], dim=1)  # (n, 3)
    return model(prompts)[:, -1]  # (n, V)


@lru_cache(maxsize=4)
def pretrained(seed: int = 0) -> tuple[World, FactLM]:
    """The default world and its trained FactLM (cached; do not train it further in place)."""
    world = make_world(seed=seed)
    return world, train_fact_lm(world, seed=seed)


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
