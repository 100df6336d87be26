"""Maintainers' oracle for the pretraining checkpoint (support/gpt2_checkpoint.py): the saved
tokenizer.json encodes exactly as the course's BPE under the tokenizers library, and the saved folder
loads into transformers' GPT2LMHeadModel with the same logits and the same greedy tokens. The model
and tokenizer are trained or made here; nothing is downloaded."""

import json
import random

import pytest
import torch

import retreat
from retreat.testing import assert_close, assert_equal

tokenizers = pytest.importorskip("tokenizers")
safetensors_torch = pytest.importorskip("safetensors.torch")

checkpoint = retreat.load_support("gpt2_checkpoint")
run = retreat.load_support("pretraining_run")
V = 300


@pytest.fixture(scope="module")
def book():
    return run.CORPUS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bpe_tokenizer(book):
    tok = retreat.load_solution("bpe").BPETokenizer()
    tok.train(book[:6000], V)
    return tok


@pytest.fixture(scope="module")
def folder(tmp_path_factory, bpe_tokenizer):
    sol = retreat.load_solution("gpt-model")
    torch.manual_seed(0)
    model = sol.GPT(sol.GPTConfig(vocab_size=V, context_length=24, d_model=32, n_heads=4, n_layers=2)).eval()
    with torch.no_grad():  # LayerNorms start at 1 and 0, biases at 0: perturb them so they matter
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    out = checkpoint.save_checkpoint(tmp_path_factory.mktemp("ckpt") / "pretraining", model, bpe_tokenizer)
    return out, model


def sample_texts(book):
    rng = random.Random(0)
    odd = "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(160, 0x3000), 0x1F642, 10, 13, 9]))
                  for _ in range(300))
    return [book[:2000], book[50_000:53_000], "", " ", "  two  spaces\r\nand a tab\t.",
            "naïve café, Zürich, 東京, 🙂 — Mr. Darcy's “quotes”", odd]


def test_tokenizer_json_encodes_like_the_course_bpe(folder, book, bpe_tokenizer):
    path, _ = folder
    hf = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
    for text in sample_texts(book):
        assert hf.encode(text).ids == bpe_tokenizer.encode(text), (
            f"tokenizer.json gives the course BPE's ids for {text[:40]!r}...")
        assert hf.decode(bpe_tokenizer.encode(text)) == text, f"tokenizer.json decodes back to {text[:40]!r}..."


def test_byte_tokens_are_their_byte_values(folder):
    path, _ = folder
    hf = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
    for b in (0, 10, 32, 65, 127, 200, 255):
        assert hf.token_to_id(checkpoint.byte_alphabet()[b]) == b, f"byte {b} is token {b}"
    assert hf.get_vocab_size() == V, f"the vocabulary has 256 bytes + {V - 256} merges"


def test_a_vocabulary_with_two_tokens_for_the_same_bytes_is_refused():
    tok = retreat.load_solution("bpe").BPETokenizer()
    tok.merges = {(97, 98): 256, (256, 99): 257, (98, 99): 258, (97, 258): 259}  # "abc" twice: 257 and 259
    tok.vocab.update({256: b"ab", 257: b"abc", 258: b"bc", 259: b"abc"})
    with pytest.raises(ValueError, match="257 and 259"):
        checkpoint.hf_tokenizer(tok)


def test_weights_use_gpt2_lm_head_model_names_and_conv1d_layout(folder):
    transformers = pytest.importorskip("transformers")
    path, model = folder
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "gpt2" and (config["n_embd"], config["n_layer"], config["n_head"]) == (32, 2, 4), (
        "config.json names the GPT-2 architecture and the model's sizes")
    saved = safetensors_torch.load_file(str(path / "model.safetensors"))
    with torch.device("meta"):
        hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(**{
            k: config[k] for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head")}))
    expected = {k: tuple(v.shape) for k, v in hf.state_dict().items() if k != "lm_head.weight"}
    assert {k: tuple(v.shape) for k, v in saved.items()} == expected, (
        "model.safetensors holds GPT2LMHeadModel's tensors (the tied lm_head left out), in its shapes")
    assert_equal(saved["transformer.h.0.attn.c_attn.weight"], model.blocks[0].attn.qkv_proj.weight.detach().t(),
                 "Conv1D weights are stored (in, out): the transpose of nn.Linear's")


def test_transformers_loads_the_folder_with_the_same_logits(folder):
    transformers = pytest.importorskip("transformers")
    path, model = folder
    hf = transformers.GPT2LMHeadModel.from_pretrained(path).eval()
    ids = torch.randint(0, V, (2, 24))
    with torch.no_grad():
        assert_close(hf(ids).logits, model(ids),
                     "GPT2LMHeadModel.from_pretrained(folder) gives the course GPT's logits", atol=1e-4, rtol=1e-4)


def test_greedy_tokens_match_transformers_generate(folder, bpe_tokenizer):
    transformers = pytest.importorskip("transformers")
    path, model = folder
    decoding = retreat.load_solution("decoding")
    hf = transformers.GPT2LMHeadModel.from_pretrained(path).eval()
    prompt = torch.tensor([bpe_tokenizer.encode("It is a truth")])
    ours = decoding.generate(model, prompt, 10, temperature=0, context_length=24)
    theirs = hf.generate(prompt, max_new_tokens=10, do_sample=False, attention_mask=torch.ones_like(prompt),
                         pad_token_id=0)
    assert_equal(ours, theirs, "greedy generation from the saved folder equals transformers' generate")


def test_the_folder_loads_back_into_the_course_gpt(folder):
    path, model = folder
    sol = retreat.load_solution("gpt-model")
    config = json.loads((path / "config.json").read_text())
    again = sol.GPT(sol.GPTConfig(vocab_size=config["vocab_size"], context_length=config["n_positions"],
                                  d_model=config["n_embd"], n_heads=config["n_head"], n_layers=config["n_layer"]))
    again.load_hf_gpt2(safetensors_torch.load_file(str(path / "model.safetensors"))).eval()
    ids = torch.randint(0, V, (1, 24))
    with torch.no_grad():
        assert_close(again(ids), model(ids), "GPT.load_hf_gpt2 reads the saved weights back exactly")
