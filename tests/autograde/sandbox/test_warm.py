"""Which zygote a class's kernels fork from: the chapter libraries preloaded only for notebooks that import one."""
from __future__ import annotations

import pytest

from autograde.sandbox import preload_for, zygote


@pytest.mark.parametrize(("imports", "expected"), [
    (set(), zygote.KERNEL_PRELOAD),
    ({"math", "random", "itertools"}, zygote.KERNEL_PRELOAD),
    ({"IPython"}, zygote.KERNEL_PRELOAD),  # the kernel's own modules are preloaded either way
    ({"torch"}, zygote.PRELOAD),
    ({"math", "course"}, zygote.PRELOAD),
    ({"matplotlib"}, zygote.PRELOAD),  # "matplotlib.pyplot" preloaded: any import of the package counts
])
def test_the_libraries_are_preloaded_only_for_notebooks_that_import_one(imports, expected):
    assert preload_for(imports) == expected


def test_the_kernel_alone_is_part_of_every_preload():
    assert set(zygote.KERNEL_PRELOAD) <= set(zygote.PRELOAD)
