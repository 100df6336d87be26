"""`retreat generate` on tiny checkpoints the tests make: random weights from the course's reference
models saved as safetensors under HuggingFace's names, a byte-level BPE trained here. Nothing is
downloaded; the hub is only ever asked for while HF_HUB_OFFLINE is set."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from retreat import course as course_module
from retreat.cli import main
from retreat.generate import decode, export, hub
from retreat.generate.checkpoint import open_checkpoint
from retreat.generate.models import Source

ROOT = Path(__file__).resolve().parents[2]  # the real course: its solutions build the models
TEXT = ["the cat sat on the mat", "a small model writes small words", "hello world, hello again",
        "we read the notes and then we write the code"]
PROMPT = "hello world"


@pytest.fixture(autouse=True)
def course_modules(monkeypatch: pytest.MonkeyPatch):
    """Each test imports course files afresh (a test's own course copy must not see another's
    modules) and runs against the real course on one thread (a loaded CI machine)."""
    monkeypatch.setenv("RETREAT_COURSE", str(ROOT))
    saved = {k: v for k, v in sys.modules.items() if k.startswith("retreat_course.")}
    for k in saved:
        del sys.modules[k]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    for k in [k for k in sys.modules if k.startswith("retreat_course.")]:
        del sys.modules[k]
    sys.modules.update(saved)
    torch.set_num_threads(threads)
    course_module._course_cache.clear()


def train_tokenizer(bos: bool) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<s>"]
    tok.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=290, special_tokens=specials, show_progress=False,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    if bos:  # as Llama's tokenizer.json: a <s> in front of every text
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tok


def perturb(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random weights large enough that greedy choices are never near a tie."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("norm.weight", "ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model.eval()


def reference(item_id: str):
    return Source(course_module.current_course(), item_id, reference=True).load()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Folders: gpt2, gpt2-prefixed (transformer. keys), llama (GQA, own head), llama-tied,
    llama-sharded; and the models and tokenizers they were made from."""
    out = tmp_path_factory.mktemp("checkpoints")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETREAT_COURSE", str(ROOT))
        mp.setenv("RETREAT_HOME", str(out / "state"))
        gpt_tok, llama_tok = train_tokenizer(bos=False), train_tokenizer(bos=True)
        V = gpt_tok.get_vocab_size()
        gpt = reference("gpt-model")
        cfg = gpt.GPTConfig(vocab_size=V, context_length=64, d_model=32, n_heads=4, n_layers=2)
        gpt_model = perturb(gpt.GPT(cfg), 0)
        tensors = export.gpt2_tensors(gpt_model)
        export.save(out / "gpt2", export.gpt2_config(cfg), tensors, gpt_tok)
        export.save(out / "gpt2-prefixed", export.gpt2_config(cfg),
                    {f"transformer.{k}": v for k, v in tensors.items()}, gpt_tok)
        llama = reference("llama")
        llama_models = {}
        for name, tied in (("llama", False), ("llama-tied", True)):
            lcfg = llama.LlamaConfig(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, rope_theta=500.0,
                                     max_position_embeddings=64, tie_word_embeddings=tied)
            llama_models[name] = perturb(llama.Llama(lcfg), 1 + tied)
            export.save(out / name, export.llama_config(lcfg, bos_id=1), export.llama_tensors(llama_models[name]),
                        llama_tok)
        shard(out / "llama", out / "llama-sharded")
        kv = reference("kv-cache")
    for k in [k for k in sys.modules if k.startswith("retreat_course.")]:
        del sys.modules[k]
    course_module._course_cache.clear()
    return {"dir": out, "gpt": gpt_model, "llama": llama_models["llama"], "llama-tied": llama_models["llama-tied"],
            "llama_generate": llama.generate, "kv_generate": kv.generate, "gpt_tok": gpt_tok, "llama_tok": llama_tok}


def shard(src: Path, dest: Path) -> None:
    """The same checkpoint in two safetensors files with an index, as big models are saved."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dest)
    tensors = load_file(str(dest / "model.safetensors"))
    (dest / "model.safetensors").unlink()
    names = sorted(tensors)
    halves = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    for file, keys in halves.items():
        save_file({k: tensors[k] for k in keys}, str(dest / file), metadata={"format": "pt"})
    index = {"metadata": {}, "weight_map": {k: file for file, keys in halves.items() for k in keys}}
    (dest / "model.safetensors.index.json").write_text(json.dumps(index))


def generate(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["generate", *args], env=env)


def generate_json(folder: Path, *args: str) -> dict:
    r = generate(str(folder), "--prompt", PROMPT, "--json", *args)
    assert r.exit_code == 0, f"generate --json succeeds: {r.output}"
    return json.loads(r.stdout)


def one_line_error(r, code: int, *words: str) -> str:
    assert r.exit_code == code, f"exit code {code} for this error, got {r.exit_code}: {r.output}"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("retreat: "), f"one line, no traceback: {r.stderr}"
    for word in words:
        assert word in lines[0], f"the error mentions {word!r}: {lines[0]}"
    return lines[0]


# -- greedy output equals the course's own greedy generate ---------------------------------------
@pytest.mark.parametrize("name", ["gpt2", "gpt2-prefixed"])
def test_gpt2_json_equals_the_reference_greedy_generate(made: dict, name: str) -> None:
    data = generate_json(made["dir"] / name, "--reference", "--max-new-tokens", "12")
    assert list(data) == ["prompt_ids", "new_ids", "text"], "--json prints exactly these keys"
    ids = made["gpt_tok"].encode(PROMPT).ids
    assert data["prompt_ids"] == ids, "prompt_ids are tokenizer.json's encoding of the prompt"
    expected = made["kv_generate"](made["gpt"], torch.tensor([ids]), 12, use_cache=False)[0, len(ids):].tolist()
    assert data["new_ids"] == expected, "new_ids equal greedy decoding with the model the folder was saved from"
    assert data["text"] == made["gpt_tok"].decode(ids + expected)[len(PROMPT):], "text decodes the new ids"


@pytest.mark.parametrize("name", ["llama", "llama-tied", "llama-sharded"])
def test_llama_json_equals_the_reference_cached_generate(made: dict, name: str) -> None:
    data = generate_json(made["dir"] / name, "--reference", "--max-new-tokens", "15")
    ids = made["llama_tok"].encode(PROMPT).ids
    assert data["prompt_ids"] == ids and ids[0] == 1, "the prompt starts with the <s> the post-processor adds"
    model = made["llama-tied" if name == "llama-tied" else "llama"]
    expected = made["llama_generate"](model, torch.tensor([ids]), 15)[0, len(ids):].tolist()
    assert data["new_ids"] == expected, f"[{name}] new_ids equal the llama solution's greedy generate"


def test_learner_code_runs_when_written(made: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course_copy(tmp_path, monkeypatch, solved=["llama", "rmsnorm-swiglu", "rope", "gqa", "kv-cache"])
    r = generate(str(made["dir"] / "llama"), "--prompt", PROMPT, "--max-new-tokens", "5")
    assert r.exit_code == 0, r.output
    assert "your llama" in r.stderr, "without --reference the learner's own llama runs"
    ours = generate_json(made["dir"] / "llama", "--max-new-tokens", "5")
    assert ours == generate_json(made["dir"] / "llama", "--max-new-tokens", "5", "--reference"), \
        "a learner's correct llama gives the reference's tokens"


# -- streaming text and speed --------------------------------------------------------------------
def test_text_streams_after_the_prompt_then_speed_with_and_without_cache(made: dict) -> None:
    folder = str(made["dir"] / "llama")
    data = generate_json(made["dir"] / "llama", "--reference", "--max-new-tokens", "10")
    r = generate(folder, "--prompt", PROMPT, "--reference", "--max-new-tokens", "10", "--compare-no-cache",
                 "--threads", "1")
    assert r.exit_code == 0, r.output
    assert r.stdout == PROMPT + data["text"] + "\n", "stdout is the prompt and the continuation, nothing else"
    assert "the reference llama" in r.stderr and "tokens/s with the KV cache" in r.stderr, r.stderr
    assert "without the cache" in r.stderr and "picks another token" not in r.stderr, r.stderr


def test_gpt2_says_it_recomputes_the_prefix(made: dict) -> None:
    r = generate(str(made["dir"] / "gpt2"), "--prompt", PROMPT, "--reference", "--max-new-tokens", "3",
                 "--compare-no-cache")
    assert r.exit_code == 0, r.output
    assert "no KV cache" in r.stderr and "recomputes" in r.stderr, r.stderr


def test_multibyte_characters_are_never_split(made: dict) -> None:
    tok = made["gpt_tok"]
    ids = tok.encode("a€😀 é").ids  # no merges for these: one token per UTF-8 byte
    assert len(ids) > 5, "the characters take several byte tokens each"
    stream = decode.TextStream(tok, ids[:1])
    pieces = [stream.push(t) for t in ids[1:]] + [stream.finish()]
    assert "".join(pieces) == "€😀 é", "the pieces join to the decoded text"
    assert not any("\ufffd" in p for p in pieces), "no piece holds half a character"
    assert pieces[0] == "", "the first byte of € prints nothing yet"


def test_sampling_is_seeded_and_top_k_1_is_greedy(made: dict) -> None:
    folder = made["dir"] / "llama"
    greedy = generate_json(folder, "--reference", "--max-new-tokens", "8")["new_ids"]
    top1 = generate_json(folder, "--reference", "--max-new-tokens", "8", "--temperature", "1.5", "--top-k", "1")
    assert top1["new_ids"] == greedy, "top-k 1 keeps only the most likely token: greedy"
    a = generate_json(folder, "--reference", "--max-new-tokens", "8", "--temperature", "2", "--seed", "3")
    b = generate_json(folder, "--reference", "--max-new-tokens", "8", "--temperature", "2", "--seed", "3")
    assert a == b, "the same seed gives the same sample"


def test_generation_stops_after_the_end_of_text_token(made: dict, tmp_path: Path) -> None:
    folder = made["dir"] / "llama"
    first = generate_json(folder, "--reference", "--max-new-tokens", "6")["new_ids"]
    copy = tmp_path / "eos"
    shutil.copytree(folder, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "generation_config.json").write_text(json.dumps({"eos_token_id": [999, first[2]]}))
    config["eos_token_id"] = None
    (copy / "config.json").write_text(json.dumps(config))
    assert generate_json(copy, "--reference", "--max-new-tokens", "6")["new_ids"] == first[:3], \
        "generation ends with the first end-of-text token, which is kept (as HuggingFace does)"


# -- where MODEL is ------------------------------------------------------------------------------
def test_a_bare_name_is_a_checkpoint_in_the_state_folder(made: dict, hermetic: Path) -> None:
    shutil.copytree(made["dir"] / "gpt2", hermetic / "checkpoints" / "mine")
    data = generate_json(Path("mine"), "--reference", "--max-new-tokens", "3")
    assert data == generate_json(made["dir"] / "gpt2", "--reference", "--max-new-tokens", "3"), \
        "a name resolves to <state folder>/checkpoints/<name>"


def test_offline_hub_id_says_what_to_download(tmp_path: Path) -> None:
    r = generate("someone/tiny-model", "--prompt", PROMPT,
                 env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")})
    line = one_line_error(r, 1, "hf download someone/tiny-model", "--local-dir", "retreat generate tiny-model")
    assert "checkpoints" in line, "the download goes where a bare name finds it"


def test_a_cached_hub_id_runs_offline(made: dict, tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "models--someone--tiny-llama"
    shutil.copytree(made["dir"] / "llama", repo / "snapshots" / ("0" * 40))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    r = generate("someone/tiny-llama", "--prompt", PROMPT, "--reference", "--json", "--max-new-tokens", "4",
                 env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == generate_json(made["dir"] / "llama", "--reference", "--max-new-tokens", "4")


def test_resolve_prefers_a_folder_then_a_checkpoint(made: dict, tmp_path: Path) -> None:
    assert hub.resolve(str(made["dir"] / "gpt2"), tmp_path) == made["dir"] / "gpt2"
    (tmp_path / "checkpoints" / "x").mkdir(parents=True)
    assert hub.resolve("x", tmp_path) == tmp_path / "checkpoints" / "x"


# -- bad folders: one line each ------------------------------------------------------------------
def edit_config(**changes):  # noqa: ANN201 - a folder edit for BAD_FOLDERS
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(changes)
        (folder / "config.json").write_text(json.dumps(config))
    return edit


BAD_FOLDERS = {  # case: (folder copied, how it is broken, words the error line must hold)
    "no config.json": ("llama", lambda f: (f / "config.json").unlink(), ["config.json"]),
    "a pickle, no safetensors": ("llama", lambda f: (f / "model.safetensors").rename(f / "pytorch_model.bin"),
                                 ["no *.safetensors", "pickle"]),
    "a shard missing": ("llama-sharded", lambda f: (f / "model-00002-of-00002.safetensors").unlink(),
                        ["model-00002-of-00002.safetensors"]),
    "no tokenizer.json": ("llama", lambda f: (f / "tokenizer.json").unlink(), ["tokenizer.json"]),
    "unknown model_type": ("llama", edit_config(model_type="mamba"), ["'mamba'", "gpt2", "llama"]),
    "RoPE scaling": ("llama", edit_config(rope_scaling={"rope_type": "llama3", "factor": 8.0}), ["llama3"]),
    "weights disagree with config": ("llama", edit_config(intermediate_size=48), ["mlp", "shape", "(32, 48)"]),
    "a tensor missing": ("llama", edit_config(num_hidden_layers=3), ["model.layers.2."]),
    "GPT-2 with another MLP width": ("gpt2", edit_config(n_inner=64), ["n_inner"]),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_a_bad_folder_is_one_line_and_exit_code_2(made: dict, tmp_path: Path, case: str) -> None:
    name, breaks, words = BAD_FOLDERS[case]
    folder = tmp_path / "broken"
    shutil.copytree(made["dir"] / name, folder)
    breaks(folder)
    one_line_error(generate(str(folder), "--prompt", PROMPT, "--reference"), 2, *words)


def test_missing_folder(tmp_path: Path) -> None:
    one_line_error(generate(str(tmp_path / "nowhere"), "--prompt", PROMPT), 2, "no folder")


def test_context_longer_than_the_model(made: dict) -> None:
    one_line_error(generate(str(made["dir"] / "gpt2"), "--prompt", PROMPT, "--reference", "--max-new-tokens", "70"),
                   2, "64 positions")


# -- the learner's code --------------------------------------------------------------------------
def course_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, solved: list[str] = (),
                files: dict[str, str] | None = None) -> Path:
    """The real course with its own exercises/ folder (the rest linked): stubs, except `solved`
    (the solution copied over) and `files` (exercise id -> text)."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("roadmap.yaml", "roadmap", "solutions", "tests", "docs", "support"):
        (root / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "exercises", root / "exercises")
    monkeypatch.setenv("RETREAT_COURSE", str(root))
    course = course_module.Course.find()
    for item_id in solved:
        ex = course.exercise(item_id)
        shutil.copy(course.solution_file(ex), course.learner_file(ex))
    for item_id, text in (files or {}).items():
        course.learner_file(course.exercise(item_id)).write_text(text)
    return root


@pytest.mark.parametrize("name,item", [("llama", "llama"), ("gpt2", "gpt-model")])
def test_stubs_say_not_written_yet(made: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                                   item: str) -> None:
    course_copy(tmp_path, monkeypatch)
    line = one_line_error(generate(str(made["dir"] / name), "--prompt", PROMPT), 1, f"not written yet: {item} ")
    assert "also still stubs" in line, "the exercises it builds on are named too"


def test_a_todo_still_raising_names_the_function(made: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course_copy(tmp_path, monkeypatch, solved=["llama", "rmsnorm-swiglu", "rope", "gqa"],
                files={"kv-cache": solution_text("kv-cache").replace(
                    "        if layer == len(self.keys):", "        raise NotImplementedError\n        if True:")})
    one_line_error(generate(str(made["dir"] / "llama"), "--prompt", PROMPT), 1,
                   "not written yet: update()", "exercises/3_llm_edge/05_kv_cache.py:")


def test_a_learner_llama_with_wrong_shapes(made: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = solution_text("llama").replace("self.k_proj = nn.Linear(C, G * hs", "self.k_proj = nn.Linear(C, H * hs")
    course_copy(tmp_path, monkeypatch, solved=["rmsnorm-swiglu", "rope", "gqa", "kv-cache"], files={"llama": wrong})
    one_line_error(generate(str(made["dir"] / "llama"), "--prompt", PROMPT), 1, "your llama's",
                   "k_proj.weight has shape (32, 32)", "(16, 32)")


def test_a_learner_bug_names_its_line(made: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    buggy = solution_text("llama").replace("x = self.model.embed_tokens(input_ids)",
                                           "x = self.model.embed_tokens(input_ids).mT")
    course_copy(tmp_path, monkeypatch, solved=["rmsnorm-swiglu", "rope", "gqa", "kv-cache"], files={"llama": buggy})
    one_line_error(generate(str(made["dir"] / "llama"), "--prompt", PROMPT), 1, "your llama failed:",
                   "exercises/3_llm_edge/", "retreat check llama")


def solution_text(item_id: str) -> str:
    course = course_module.Course.find()
    return course.solution_file(course.exercise(item_id)).read_text()


def test_checkpoint_reads_config_fields(made: dict) -> None:
    ckpt = open_checkpoint(made["dir"] / "llama")
    assert ckpt.fields["num_key_value_heads"] == 2 and ckpt.fields["rope_theta"] == 500.0
    assert ckpt.max_positions == 64 and ckpt.exercise == "llama"
