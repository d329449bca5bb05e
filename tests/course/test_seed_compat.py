"""An instructor's existing notebook (the Radboud-style assignment in ../shared/seeds/004) runs unchanged.

Its cells that define nothing themselves (building nets, fit, HistoryPlotter, NoisyDataset,
plot_layer_stats) are reconstructed here and executed after ``from course import *``, with
only the epoch counts made small. The student-written parts (build_net, the data cell) are
written the way the assignment asks for them.
"""
import textwrap

import matplotlib
import pytest

matplotlib.use("Agg")

STUDENT_DEFINITIONS = """
import torch, torchvision
from course import *

def build_net(width=128):
    return torch.nn.Sequential(
        torch.nn.Linear(784, width), torch.nn.ReLU(),
        torch.nn.Linear(width, width // 2), torch.nn.ReLU(),
        torch.nn.Linear(width // 2, 10))

def build_net_bn():
    return torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.BatchNorm1d(128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.BatchNorm1d(64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10))

device = 'cpu'
"""

# The data cell as the seed writes it: torchvision with a flattening transform and random_split.
TORCHVISION_DATA = """
fashionmnist = torchvision.datasets.FashionMNIST(
    root=DATA_ROOT, download=False,
    transform=torchvision.transforms.Compose([torchvision.transforms.ToTensor(), lambda img: img.flatten()]))
fashion_train, fashion_validation, _ = torch.utils.data.random_split(
    fashionmnist, [1000, 500, len(fashionmnist) - (1000 + 500)])
"""
# A smaller split than the seed's 1000/500 keeps this test quick; the calls below are unchanged.
COURSE_DATA = "fashion_train, fashion_validation = fashion_mnist_split(200, 100, root=DATA_ROOT)"

OPTIMIZERS_AND_LEARNING_RATES = """
plotter = HistoryPlotter(plots=[{'x': 'epochs', 'y': ['train loss', 'validation loss']},
                                {'x': 'epochs', 'y': ['train accuracy', 'validation accuracy']}],
                         table=['train accuracy', 'validation accuracy'],
                         rows=4, cols=2)
epochs = 2 if len(fashion_train) < 1000 else 1
batch_size = 32
for row, lr in enumerate((0.1, 0.01, 0.001, 0.0001)):
    net = build_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    history = fit(net, fashion_train, fashion_validation, optimizer=optimizer, epochs=epochs, batch_size=batch_size, device=device)
    plotter.add('SGD lr=%s' % str(lr), history, row=row, col=0)

    net = build_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    history = fit(net, fashion_train, fashion_validation, optimizer=optimizer, epochs=epochs, batch_size=batch_size, device=device)
    plotter.add('Adam lr=%s' % str(lr), history, row=row, col=1)
plotter.done()

chosen = plotter.histories['Adam lr=0.001']
assert len(chosen['train 4: Linear output abs mean']) == epochs
for epoch in range(epochs):
    assert chosen['train outputs'][epoch].shape == (len(fashion_train), 10)
"""

BATCH_SIZES = """
plotter = HistoryPlotter(plots=[{'x': 'epochs', 'y': ['train loss', 'validation loss'], 'type': 'loss'},
                                {'x': 'epochs', 'y': ['train accuracy', 'validation accuracy'], 'type': 'accuracy'},
                                {'x': 'train steps', 'y': ['train accuracy', 'validation accuracy'], 'type': 'accuracy'},
                                {'x': 'time', 'y': ['train accuracy', 'validation accuracy'], 'type': 'accuracy'}],
                         table=[['train accuracy', 'validation accuracy'],
                                ['train loss', 'validation loss']],
                         rows=5, cols=1)
epochs = 1
lr = 0.0001
for row, batch_size in enumerate([4, 16, 32, 64, 128]):
    net = build_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    history = fit(net, fashion_train, fashion_validation, optimizer=optimizer, epochs=epochs, batch_size=batch_size, device=device)
    plotter.add('batch_size=%s' % str(batch_size), history, row=row, col=0)
plotter.done()
steps = [plotter.histories['batch_size=%s' % b]['train steps'][-1] for b in (4, 128)]
assert steps == [len(fashion_train) // 4, -(-len(fashion_train) // 128)]
"""

BATCH_NORM = """
plotter = HistoryPlotter(plots=[{'x': 'epochs', 'y': ['train loss', 'validation loss']},
                                {'x': 'epochs', 'y': ['train accuracy', 'validation accuracy']}],
                         table=[['train accuracy', 'validation accuracy']],
                         rows=2, cols=1)
epochs = 2
lr = 0.0001
batch_size = 32
networks = [('without batchnorm', build_net), ('with batchnorm', build_net_bn)]
histories = {}
for row, (network_name, network_fn) in enumerate(networks):
    net = network_fn()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    history = fit(net, fashion_train, fashion_validation, optimizer=optimizer, epochs=epochs, batch_size=batch_size, device=device)
    plotter.add(network_name, history, row=row, col=0)
    histories[network_name] = history
plotter.done()
plot_layer_stats(5, histories['without batchnorm'])
figure = plot_layer_stats(7, histories['with batchnorm'])
assert len(figure.axes) == 14
assert 'train 1: BatchNorm1d output std' in histories['with batchnorm']
"""

AUGMENTATION = """
plotter = HistoryPlotter(plots=[{'x': 'epochs', 'y': ['train loss', 'validation loss']},
                                {'x': 'epochs', 'y': ['train accuracy', 'validation accuracy']}],
                         table=['train accuracy', 'validation accuracy', 'time'],
                         rows=8, cols=2)
epochs = 1
lr = 0.0001
batch_size = 32
for row, noise_sigma in enumerate((0, 0.01, 0.1, 0.2)):
    for row2, shift in enumerate([False, True]):
        for col, flip_horizontal in enumerate([False, True]):
            noisy_fashion_train = NoisyDataset(fashion_train, noise_sigma, flip_horizontal=flip_horizontal, shift=shift)
            net = build_net()
            optimizer = torch.optim.Adam(net.parameters(), lr=lr)
            history = fit(net, noisy_fashion_train, fashion_validation, optimizer, epochs=epochs, batch_size=batch_size, device=device)
            label = ('noise=%s' % str(noise_sigma)) + (', shift' if shift else '') + (', flip horizontal' if flip_horizontal else '')
            plotter.add(label, history, row=row*2+row2, col=col)
plotter.done()
assert len(plotter.table_frame()) == 16
"""

WIDTHS = """
plotter = HistoryPlotter(plots=[{'x': 'epochs', 'y': ['train loss', 'validation loss']},
                                {'x': 'epochs', 'y': ['train accuracy', 'validation accuracy']}],
                         table=['train accuracy', 'validation accuracy'],
                         rows=6, cols=1)
epochs = 1
lr = 0.0001
batch_size = 32
for row, width in enumerate([16, 32, 64, 128, 256, 512]):
    net = build_net(width)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    history = fit(net, fashion_train, fashion_validation, optimizer=optimizer, epochs=epochs, batch_size=batch_size, device=device)
    label = ('size 1st hidden layer=%s' % str(width))
    plotter.add(label, history, row=row, col=0)
plotter.done()
"""


def run_cells(*cells, **namespace):
    for cell in cells:
        exec(compile(textwrap.dedent(cell), "<seed cell>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("data_cell", [COURSE_DATA, TORCHVISION_DATA], ids=["course-split", "torchvision-random-split"])
def test_optimizer_and_learning_rate_cells_run_unchanged(fashion_root, data_cell):
    namespace = run_cells(STUDENT_DEFINITIONS, data_cell, OPTIMIZERS_AND_LEARNING_RATES, DATA_ROOT=str(fashion_root))
    assert len(namespace["plotter"].table_frame()) == 8


def test_batch_size_batch_norm_augmentation_and_width_cells_run_unchanged(fashion_root):
    namespace = run_cells(STUDENT_DEFINITIONS, COURSE_DATA, BATCH_SIZES, BATCH_NORM, AUGMENTATION, WIDTHS,
                          DATA_ROOT=str(fashion_root))
    table = namespace["plotter"].table_frame()
    assert table["experiment"].tolist()[-1] == "size 1st hidden layer=512"
