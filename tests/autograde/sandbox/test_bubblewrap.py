"""What a sandboxed kernel may read: decided from the kernel's own environment, not the grader's."""
from __future__ import annotations

from autograde.sandbox.bubblewrap import readable_paths


def test_the_data_folder_is_the_one_the_kernel_is_told(tmp_path, monkeypatch):
    told, grader_only = tmp_path / "told", tmp_path / "grader-only"
    told.mkdir()
    grader_only.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(grader_only))
    readable = readable_paths([], {"COURSE_DATA_DIR": str(told)})
    assert told in readable and grader_only not in readable
    assert not {told, grader_only} & set(readable_paths([], {}))
