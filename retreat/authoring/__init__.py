"""Course authoring from the terminal: `retreat new` (a working course), `retreat add` (items
appended to a roadmap file, comments kept)."""
