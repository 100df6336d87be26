"""Save a course GPT and its byte-level BPE tokenizer as a HuggingFace GPT-2 checkpoint folder.

The folder holds what HuggingFace tools (and `retreat generate`) read, and no pickle:

    config.json          GPT2Config fields: model_type "gpt2", vocab_size, n_positions, n_embd, ...
    model.safetensors    GPT2LMHeadModel's key names (transformer.wte.weight, transformer.h.0...);
                         attention and MLP weights in Conv1D's (in, out) layout, the transpose of
                         nn.Linear's (the inverse of GPT.load_hf_gpt2)
    tokenizer.json       the tokenizers library's form of the BPE: byte b is token b, the merges in
                         the order they were learned, so it encodes any text to the same ids

    save_checkpoint(folder, model, tokenizer)     writes them (and generation_config.json)
    hf_tokenizer(tokenizer) -> tokenizers.Tokenizer
    byte_alphabet() -> list[str]                   GPT-2's byte -> printable character table

The model's weights and config.json come from the engine's GPT-2 export (retreat/generate/
export.py), the same code `retreat generate`'s tests use; this module adds the tokenizer.

`model` is the gpt-model exercise's GPT (its documented parameter names: emb.tok_emb, emb.pos_emb,
blocks.{i}.ln_1 / attn.qkv_proj / attn.out_proj / ln_2 / mlp.fc / mlp.proj, ln_f) and `tokenizer`
the bpe exercise's BPETokenizer (`merges`: pair -> new id in training order, `vocab`: id -> bytes).
"""

from __future__ import annotations

from pathlib import Path

import torch.nn as nn


def byte_alphabet() -> list[str]:
    """GPT-2's table from the 256 byte values to 256 printable characters, indexed by byte.

    A byte that is a visible Latin-1 character ("!" to "~", "¡" to "¬", "®" to "ÿ") stands for
    itself; each of the other 68 (controls, the space, a few more), in increasing order, gets the
    next unused character from U+0100 on. So the space, byte 32, is shown as "Ġ" (U+0120).
    """
    visible = {*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)}
    table, spare = [], 0
    for b in range(256):
        if b in visible:
            table.append(chr(b))
        else:
            table.append(chr(256 + spare))
            spare += 1
    return table


def hf_tokenizer(tokenizer):  # noqa: ANN001, ANN201 - a BPETokenizer in, a tokenizers.Tokenizer out
    """The same byte-level BPE as a `tokenizers.Tokenizer`: `.encode(text).ids == tokenizer.encode(text)`.

    The whole text is one "word" (ByteLevel with use_regex=False and no prefix space), as in the
    course's BPE, which never splits text before merging. Raises ValueError if two token ids
    stand for the same bytes (two merge paths can build one string): the tokenizers library keys
    its vocabulary by string and cannot hold both.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = byte_alphabet()

    def spelled(token_id: int) -> str:
        return "".join(alphabet[b] for b in tokenizer.vocab[token_id])

    vocab: dict[str, int] = {}
    for token_id in sorted(tokenizer.vocab):
        text = spelled(token_id)
        if text in vocab:
            raise ValueError(f"tokens {vocab[text]} and {token_id} both stand for {tokenizer.vocab[token_id]!r}; "
                             "the tokenizers library cannot represent this vocabulary")
        vocab[text] = token_id
    merges = [(spelled(a), spelled(b)) for (a, b), _ in sorted(tokenizer.merges.items(), key=lambda kv: kv[1])]
    hf = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    hf.decoder = decoders.ByteLevel()
    return hf


def save_checkpoint(folder: str | Path, model: nn.Module, tokenizer) -> Path:  # noqa: ANN001
    """Write config.json, generation_config.json, model.safetensors and tokenizer.json into `folder`.

    The weights and config go through the engine's GPT-2 export (`retreat generate` reads what it
    writes), under GPT2LMHeadModel's names ("transformer." in front).
    """
    from retreat.generate import export

    hf = hf_tokenizer(tokenizer)  # first: a vocabulary it cannot hold fails before anything is written
    tensors = {f"transformer.{name}": value for name, value in export.gpt2_tensors(model).items()}
    return export.save(Path(folder), export.gpt2_config(model.config), tensors, hf)
