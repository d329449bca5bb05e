"""The hostile class (test_hostile.py) graded as on a host without writable cgroups: every attack scores as it
does with them (the fork bomb meets the kernel's own uid's process limit, the memory bomb the memory watch),
the honest students' grades are the same."""
from __future__ import annotations

from tests.support.hidden_cgroups import NEEDS, pytest_without_cgroups

pytestmark = NEEDS


def test_the_hostile_class_is_graded_the_same_with_cgroups_hidden():
    done = pytest_without_cgroups(["tests/autograde/grading/test_hostile.py"], timeout=600)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert " failed" not in done.stdout and " passed" in done.stdout, done.stdout[-3000:]
