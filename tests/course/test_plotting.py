"""HistoryPlotter and the other plots, drawn headless (Agg); its live figure and the progress bars in a kernel."""
import os
import re

import matplotlib
import pytest
import torch

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


def test_epochs_get_integer_ticks():
    plotter = HistoryPlotter(PLOTS + [{"x": "time", "y": ["train loss"]}], [], rows=1, cols=1)
    plotter.add("two epochs", fake_history(epochs=2))
    epochs_ax, steps_ax, time_ax = plotter.axs[0]
    for ax in (epochs_ax, steps_ax):
        ticks = [tick for tick in ax.get_xticks() if ax.get_xlim()[0] <= tick <= ax.get_xlim()[1]]
        assert ticks and all(float(tick).is_integer() for tick in ticks), ticks
    assert not all(float(tick).is_integer() for tick in time_ax.get_xticks())  # time stays fractional


# Two fits drawn live into one HistoryPlotter, a bar stopped early, then the same plotter under nbgrader.
LIVE_CELLS = [
    """import os, torch
from course import *
from course.progress import progress_bar
train, validation = fashion_mnist_split(200, 100)
def run(plotter, title, col, epochs=3):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    plotter.add(title, fit(net, train, validation, torch.optim.SGD(net.parameters(), lr=0.1), epochs=epochs), col=col)
""",
    """plotter = HistoryPlotter([{"x": "epochs", "y": ["train loss", "validation loss"]}], ["validation accuracy"], cols=2)
for col in range(2):
    run(plotter, f"run {col}", col)
plotter.done()""",
    """for i in progress_bar(range(5), desc="Stopped"):
    if i == 2:
        break
for i in progress_bar(range(3), desc="Gone", leave=False):
    pass""",
    """os.environ["NBGRADER_EXECUTION"] = "autograde"
graded = HistoryPlotter([{"x": "epochs", "y": ["train loss"]}], ["validation accuracy"])
run(graded, "graded", 0, epochs=2)
graded.done()""",
]


@pytest.mark.slow
def test_live_figure_and_bars_that_leave_text_in_a_kernel(data_env):
    """In a real kernel: the figure is redrawn at every epoch of a fit, the bars end as plain text
    (no widget left in the saved notebook), and under nbgrader the figure is drawn once, by done()."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in LIVE_CELLS])
    messages: list[tuple[int, str, set]] = []
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    process = client.process_message

    def record(msg, cell, cell_index):
        if msg["msg_type"] in ("display_data", "update_display_data"):
            messages.append((cell_index, msg["msg_type"], set(msg["content"]["data"])))
        return process(msg, cell, cell_index)

    client.process_message = record
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}  # inline, as in Jupyter
    client.execute(env=env)

    errors = [output for cell in nb.cells for output in cell.outputs if output.output_type == "error"]
    assert not errors, errors[0]
    widget = "application/vnd.jupyter.widget-view+json"
    # Cell 1: figure, then per fit: the bar's widget, a redraw after each of its 3 epochs, the bar's text, add's redraw.
    kinds = [("update" if kind.startswith("update") else "show", "image/png" in data, widget in data)
             for index, kind, data in messages if index == 1]
    bar_shown = [i for i, (kind, _, is_widget) in enumerate(kinds) if kind == "show" and is_widget]
    assert len(bar_shown) == 2, kinds
    first_fit = kinds[bar_shown[0]:bar_shown[1]]
    assert sum(kind == "update" and image for kind, image, _ in first_fit) >= 3 + 1, kinds  # every epoch, then add
    outputs = nb.cells[1].outputs
    assert "image/png" in outputs[0].data  # the one figure, final
    bars = [output.data["text/plain"] for output in outputs[1:3]]
    assert all(re.match(r"Epoch: 100%.* 3/3 .*validation accuracy=", bar) for bar in bars), bars
    assert "run 1" in outputs[3].data["text/html"]  # the results table
    stopped, gone = (output.data["text/plain"] for output in nb.cells[2].outputs)
    assert re.match(r"Stopped:\s+40%.* 2/5", stopped) and gone == ""  # an early stop says where; leave=False: nothing
    saved = [output for cell in nb.cells for output in cell.outputs if widget in output.get("data", {})]
    assert saved == [], "a widget output was saved"
    graded = [data for index, kind, data in messages if index == 3 and "image/png" in data]
    assert len(graded) == 1 and "image/png" in nb.cells[3].outputs[-2].data


def test_one_colour_per_series_name_in_every_panel_and_cell():
    """A series keeps its colour wherever it is drawn, whatever else its panel holds."""
    plots = [{"x": "epochs", "y": ["train loss", "validation loss"]}, {"x": "epochs", "y": ["validation loss"]}]
    plotter = HistoryPlotter(plots, rows=1, cols=2)
    plotter.add("a", fake_history(), col=0)
    plotter.add("b", fake_history(0.1), col=1)
    colours = {}
    for ax in plotter.fig.axes:
        for line in ax.lines:
            colours.setdefault(line.get_label(), set()).add(line.get_color())
    assert all(len(found) == 1 for found in colours.values()), colours
    assert colours["train loss"] != colours["validation loss"]


class StopAtStep(torch.optim.SGD):
    """SGD that raises KeyboardInterrupt at its ``stop``-th step, as the notebook's stop button would."""

    def __init__(self, params, stop: int):
        super().__init__(params, lr=0.1)
        self.stop, self.steps = stop, 0

    def step(self, closure=None):
        self.steps += 1
        if self.steps == self.stop:
            raise KeyboardInterrupt
        return super().step(closure)


def test_an_interrupted_fit_leaves_its_last_epoch_and_steady_colours(monkeypatch):
    """Live redraws keep each series' colour; after an interrupt the title names the last completed epoch,
    even when the drawing budget had skipped the redraws before it."""
    from IPython.display import DisplayHandle

    from course import plotting, training

    monkeypatch.setattr(plotting, "_display", lambda obj: DisplayHandle())  # as in a notebook: a live figure
    monkeypatch.setattr(plotting, "LIVE_BURST", 0.0)  # no budget: only the first epoch is drawn live
    plotter = HistoryPlotter([{"x": "epochs", "y": ["train loss", "validation loss"]}], rows=1, cols=1)
    net = torch.nn.Linear(4, 2)
    data = torch.utils.data.TensorDataset(torch.randn(20, 4), torch.randint(0, 2, (20,)))
    with pytest.raises(KeyboardInterrupt):
        training.fit(net, data, data, StopAtStep(net.parameters(), stop=5 * 2 + 1), epochs=30, batch_size=10,
                     progress=False, layer_stats=False, keep_outputs=False)
    ax = plotter.axs[0, 0]
    assert ax.get_title() == "training: epoch 5"  # 2 steps an epoch: interrupted in the 6th
    assert len({line.get_color() for line in ax.lines}) == 2 and len(ax.lines) == 2
    plotter.done()
