"""Grading a class: prepare (trusted) -> execute (untrusted, in the sandbox) -> score (trusted).

See ARCHITECTURE.md at the repository root for the data flow of ``course grade``.
"""
