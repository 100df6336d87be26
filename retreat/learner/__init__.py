"""The learner's side: their state and what they do with it, apart from grading.

progress.py (the SQLite state: items, attempts, reviews), plan.py (what is unlocked and next, pure),
session.py (hints, solutions, reset, done and skip), quiz.py (answers and scores), review.py (the
spaced-review schedule), journal.py (the learner's notes), find.py (search). Nothing here imports
grading or the site; they import from here.
"""
