"""The notes site: MkDocs hooks that render the roadmap, one page per item, the CLI reference and
the learner's progress from the same objects the CLI uses, and `retreat docs build/serve`."""
