"""detect_device's order of preference and the epochs() budget."""
import torch

from course import detect_device, epochs, fast_mode


def test_prefers_cuda_then_mps_then_cpu(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert detect_device() == torch.device("cuda")
    assert "cuda" in capsys.readouterr().out

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert detect_device() == torch.device("mps")
    capsys.readouterr()

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert detect_device(verbose=False) == torch.device("cpu")
    assert capsys.readouterr().out == ""


def test_epochs_full_length_for_students(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_FAST", raising=False)
    assert not fast_mode()
    assert epochs(150) == 150


def test_epochs_short_under_grading_and_in_ci(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert epochs(150) == 2 and epochs(1) == 1 and epochs(150, fast=5) == 5
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setenv("COURSE_FAST", "1")
    assert epochs(150) == 2
    monkeypatch.setenv("COURSE_FAST", "0")
    assert epochs(150) == 150
