"""Grading: run an exercise's tests in a child process and turn the result into a verdict.

service.py is the entry point (`grade`, `grade_review`: grade and record); runner.py spawns the
child (cold, or on a warm worker from worker.py), whose own setup is child.py; plugin.py is the
pytest plugin inside the child, verdict.py reads its report; forbid.py polices forbidden calls;
lock.py says whether a grade is official; watch.py re-grades on save; junit.py and report.py
render verdicts for CI.
"""
