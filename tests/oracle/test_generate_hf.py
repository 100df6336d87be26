"""Maintainers' oracle for `retreat generate`: folders written by HuggingFace's own save_pretrained
(tiny random GPT2LMHeadModel and LlamaForCausalLM, grouped-query attention, tied and untied heads)
run on the reference solutions, and greedy new_ids equal transformers' generate(do_sample=False)
token for token, through the Python API and through `retreat generate --json`. Needs transformers
(skipped without it); nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from retreat.cli import main
from retreat.course import Course
from retreat.generate import run
from retreat.generate.decode import Sampling
from retreat.testing import assert_equal

transformers = pytest.importorskip("transformers")

TEXT = ["the quick brown fox jumps over the lazy dog", "a tiny model, random weights: still a model",
        "tokens stream out one at a time", "hello world"]
PROMPTS = ["hello world", "the lazy dog jumps over a quick brown fox and", "a"]
N_NEW = 24

LLAMAS = {  # name: (hidden, heads, kv_heads, layers, rope_theta, tied)
    "gqa-4-2": (32, 4, 2, 2, 10000.0, False),
    "mqa-8-1-tied": (64, 8, 1, 2, 500000.0, True),
    "gqa-6-3": (48, 6, 3, 3, 1000.0, False),
}
GPT2S = {"gpt2-2x4": (32, 4, 2), "gpt2-3x2": (48, 2, 3)}  # name: (n_embd, n_head, n_layer)


def tokenizer(bos: bool) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<s>"],
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                      show_progress=False))
    if bos:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tok


def randomise(hf: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # HF's init leaves norms at 1 and biases at 0: make every parameter matter
        for name, p in hf.named_parameters():
            if "norm" in name or ".ln_" in name:
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def save(hf, tok: Tokenizer, folder: Path) -> Path:
    hf.generation_config.pad_token_id = hf.config.eos_token_id
    hf.save_pretrained(folder, safe_serialization=True)
    tok.save(str(folder / "tokenizer.json"))
    return folder


def hf_llama(name: str, folder: Path):
    hidden, heads, kv_heads, layers, theta, tied = LLAMAS[name]
    tok = tokenizer(bos=True)
    config = transformers.LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, intermediate_size=72,
                                      num_hidden_layers=layers, num_attention_heads=heads,
                                      num_key_value_heads=kv_heads, rope_theta=theta, max_position_embeddings=128,
                                      tie_word_embeddings=tied, bos_token_id=1, eos_token_id=0,
                                      attn_implementation="eager")
    hf = transformers.LlamaForCausalLM(config).eval()
    randomise(hf, len(name))
    return hf, tok, save(hf, tok, folder)


def hf_gpt2(name: str, folder: Path):
    n_embd, n_head, n_layer = GPT2S[name]
    tok = tokenizer(bos=False)
    config = transformers.GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=128, n_embd=n_embd, n_head=n_head,
                                     n_layer=n_layer, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                     bos_token_id=0, eos_token_id=0)
    hf = transformers.GPT2LMHeadModel(config).eval()
    randomise(hf, len(name))
    return hf, tok, save(hf, tok, folder)


def hf_greedy(hf, prompt_ids: list[int]) -> list[int]:
    ids = torch.tensor([prompt_ids])
    with torch.no_grad():
        out = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=N_NEW, do_sample=False,
                          num_beams=1)
    return out[0, len(prompt_ids):].tolist()


def check(hf, tok: Tokenizer, folder: Path, name: str) -> None:
    loaded = run.load(str(folder), Course.find(), reference=True)
    hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    for prompt in PROMPTS:
        result = run.generate(loaded, prompt, N_NEW, Sampling())
        assert_equal(result.prompt_ids, hf_tok(prompt)["input_ids"],
                     f"[{name}] prompt ids equal transformers' tokenizer on the same tokenizer.json")
        assert_equal(result.new_ids, hf_greedy(hf, result.prompt_ids),
                     f"[{name}, {prompt!r}] greedy new_ids equal HF generate(do_sample=False)")


@pytest.mark.parametrize("name", list(LLAMAS))
def test_llama_greedy_equals_huggingface_generate(name: str, tmp_path: Path) -> None:
    hf, tok, folder = hf_llama(name, tmp_path / name)
    check(hf, tok, folder, name)


@pytest.mark.parametrize("name", list(GPT2S))
def test_gpt2_greedy_equals_huggingface_generate(name: str, tmp_path: Path) -> None:
    hf, tok, folder = hf_gpt2(name, tmp_path / name)
    check(hf, tok, folder, name)


@pytest.mark.parametrize("make,name", [(hf_llama, "gqa-4-2"), (hf_gpt2, "gpt2-2x4")])
def test_cli_json_equals_huggingface_generate(make, name: str, tmp_path: Path) -> None:
    hf, tok, folder = make(name, tmp_path / name)
    r = CliRunner().invoke(main, ["generate", str(folder), "--prompt", PROMPTS[1], "--reference", "--json",
                                  "--max-new-tokens", str(N_NEW)])
    assert r.exit_code == 0, f"[{name}] retreat generate --json succeeds: {r.output}"
    data = json.loads(r.stdout)
    assert_equal(data["new_ids"], hf_greedy(hf, data["prompt_ids"]),
                 f"[{name}] `retreat generate --json` new_ids equal HF's greedy generate")
    hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    full = hf_tok.decode(data["prompt_ids"] + data["new_ids"], skip_special_tokens=True)
    assert_equal(data["text"], full[len(hf_tok.decode(data["prompt_ids"], skip_special_tokens=True)):],
                 f"[{name}] text is the continuation as transformers decodes it")
