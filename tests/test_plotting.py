"""HistoryPlotter and the other plots, drawn headless (Agg)."""
import matplotlib
import pytest

from course import History, HistoryPlotter, plot_layer_stats, plot_output_stats, show_images

matplotlib.use("Agg")


def fake_history(offset=0.0, epochs=5):
    history = History({"epochs": list(range(epochs)), "time": [0.1 * (i + 1) for i in range(epochs)],
                       "train steps": [10 * (i + 1) for i in range(epochs)]})
    for phase in ("train", "validation"):
        history[f"{phase} loss"] = [1.0 / (i + 1) + offset for i in range(epochs)]
        history[f"{phase} accuracy"] = [0.1 * i + offset for i in range(epochs)]
        for layer, name in enumerate(["Linear", "ReLU", "Linear"]):
            for stat in ("mean", "abs mean", "std"):
                history[f"{phase} {layer}: {name} output {stat}"] = [layer + 0.1 * i for i in range(epochs)]
    history["train outputs"] = [[[0.0, float(i)]] * 3 for i in range(epochs)]
    return history


PLOTS = [{"x": "epochs", "y": ["train loss", "validation loss"]},
         {"x": "train steps", "y": ["train accuracy", "validation accuracy"], "type": "accuracy"}]


def test_one_figure_with_a_cell_of_axes_per_experiment():
    plotter = HistoryPlotter(plots=PLOTS, table=["train accuracy", "validation accuracy"], rows=2, cols=2)
    for row in range(2):
        for col in range(2):
            plotter.add(f"run {row}{col}", fake_history(0.01 * (row + col)), row=row, col=col)
    plotter.done()
    assert len(plotter.fig.axes) == 2 * 2 * len(PLOTS)
    assert all(len(ax.lines) == 2 for ax in plotter.fig.axes)
    accuracy_axis = plotter.axs[1, 3]
    assert accuracy_axis.get_ylim() == (0, 1.01) and accuracy_axis.get_xlabel() == "train steps"
    assert accuracy_axis.get_title() == "run 11"
    assert list(plotter.histories) == ["run 00", "run 01", "run 10", "run 11"]


def test_table_accepts_a_flat_list_or_a_list_of_lists(capsys):
    flat = HistoryPlotter(PLOTS, ["train accuracy", "validation accuracy"], rows=1, cols=1)
    nested = HistoryPlotter(PLOTS, [["train accuracy", "validation accuracy"], ["train loss"]], rows=1, cols=1)
    for plotter in (flat, nested):
        plotter.add("only", fake_history(), 0, 0)
    frame = nested.print_table()
    assert list(frame.columns) == ["experiment", "train accuracy", "validation accuracy", "train loss"]
    assert frame.loc[0, "train loss"] == pytest.approx(0.2)
    assert "only" in capsys.readouterr().out
    assert list(flat.table_frame().columns) == ["experiment", "train accuracy", "validation accuracy"]


def test_a_cell_outside_the_grid_is_a_clear_error():
    plotter = HistoryPlotter(PLOTS, [], rows=2, cols=1)
    with pytest.raises(ValueError, match=r"outside the 2 x 1 grid"):
        plotter.add("too far", fake_history(), row=1, col=1)


def test_layer_stats_output_stats_and_images():
    history = fake_history()
    fig = plot_layer_stats(3, history)
    assert len(fig.axes) == 6
    assert all(len(ax.lines) == 2 for ax in fig.axes)  # train and validation in every panel
    fig = plot_output_stats(history, title="demo")
    assert len(fig.axes) == 4 and len(fig.axes[2].lines) == 1
    fig = show_images([[0.5] * 784] * 3, [0, 1, 9], ["a", "b"] + ["c"] * 8, n=5)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
