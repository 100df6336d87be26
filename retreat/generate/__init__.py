"""`retreat generate`: run a HuggingFace-format checkpoint on the course's own model code.

    hub.py         MODEL (a folder, a learner checkpoint's name, a hub id) -> a folder on disk
    checkpoint.py  a folder -> config, course config fields, expected shapes, weights, tokenizer
    models.py      the learner's (or the reference) GPT / Llama built and loaded from a checkpoint
    decode.py      the token loop (greedy, temperature, top-k; with or without a KV cache),
                   text decoded as it streams, tokens per second
    export.py      the other direction: a course model written as a HuggingFace-format folder

Nothing here imports transformers: weights come through safetensors (never a pickle), text
through the tokenizers library.
"""
