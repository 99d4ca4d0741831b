"""Crash-safety tests: random SIGKILLs (the torture), faults in the database layer, concurrent
resumes and fencing. ``python -m tests.torture --kills N --seed S`` runs a longer torture."""
