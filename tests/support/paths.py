"""Where things are, for every test: the repository, the tests' fixture files, the shared data sample."""
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"  # small courses, hostile snippets, a sample chapter: inputs the tests read
SHARED_DATA = REPO.parent / "shared" / "data"  # the real Fashion-MNIST sample, when it is there
