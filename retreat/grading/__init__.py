"""Run an exercise's tests in a child process and turn the result into a verdict."""
