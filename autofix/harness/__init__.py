"""The validation harness: trains the original and the fixed program and checks what each fix does.

Importing this package does not import torch; only the probe (run in a subprocess) does.
"""
