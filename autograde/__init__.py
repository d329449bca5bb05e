"""Instructors' tooling on top of nbgrader: generate, check, grade (parallel, sandboxed), feedback, report, pdf, demo."""
