"""History: a dict of lists with a DataFrame view, the last values, and safe saving."""
import numpy as np
import pytest

from course import History


@pytest.fixture
def history():
    return History({"epochs": [0, 1, 2], "train loss": [2.0, 1.0, 0.5], "validation accuracy": [0.1, 0.5, 0.7],
                    "train outputs": [np.zeros((4, 10)), np.ones((4, 10)), np.full((4, 10), 2.0)]})


def test_behaves_like_a_dict_of_lists(history):
    assert history["train loss"][-1] == 0.5
    assert set(history) == {"epochs", "train loss", "validation accuracy", "train outputs"}


def test_frame_and_last_skip_the_stored_outputs(history):
    frame = history.to_frame()
    assert list(frame.columns) == ["epochs", "train loss", "validation accuracy"]
    assert frame["train loss"].tolist() == [2.0, 1.0, 0.5]
    assert history.last() == {"epochs": 2, "train loss": 0.5, "validation accuracy": 0.7}
    assert "3 epochs" in repr(history) and "train loss=0.5" in repr(history)


def test_save_and_load_round_trip(history, tmp_path):
    path = history.save(tmp_path / "run")
    assert path.suffix == ".npz"
    loaded = History.load(path)
    assert loaded["train loss"] == history["train loss"]
    assert loaded["epochs"] == [0, 1, 2]
    assert np.array_equal(loaded["train outputs"][2], history["train outputs"][2])
