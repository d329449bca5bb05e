"""The quality gate before release (``course check``): lint the metadata, run the reference answers,
and mutate them to prove each task's tests fail on wrong answers."""
