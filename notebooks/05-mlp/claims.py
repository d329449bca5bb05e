"""What Question 1's rubric states about section 5.6's experiment (checked over seeds by
benchmarks/chapter_claims.py): one hidden layer of 16, 64 or 256 units and 1, 2 or 3 hidden layers of 128, Adam at
0.001, minibatches of 32, 30 epochs, on the notebook's 1000 training and 500 validation images, through ``sweep``
with one seed for the initial weights and the minibatch order."""
from torch import nn

from course import fashion_mnist_split, sweep

SHAPES = {"width 16": [16], "width 64": [64], "width 256": [256],
          "depth 1": [128], "depth 2": [128, 128], "depth 3": [128, 128, 128]}


def make_mlp(hidden_sizes: list[int], n_in: int = 784, n_out: int = 10) -> nn.Sequential:
    """The notebook's Task 5."""
    layers = []
    for size in hidden_sizes:
        layers += [nn.Linear(n_in, size), nn.ReLU()]
        n_in = size
    return nn.Sequential(*layers, nn.Linear(n_in, n_out))


def measure(seed: int) -> dict[str, float]:
    """Per shape: final training and validation accuracy, the best validation accuracy, the gap, the seconds."""
    train, validation = fashion_mnist_split()
    experiments = [{"title": name, "build_net": (lambda hidden=hidden: make_mlp(hidden))}
                   for name, hidden in SHAPES.items()]
    histories = sweep(None, train, validation, experiments, epochs=30, batch_size=32, optimizer="adam", lr=1e-3,
                      seed=seed, progress=False, layer_stats=False, keep_outputs=False, workers=1)
    m = {}
    for name, history in histories.items():
        m[f"{name} train"] = history["train accuracy"][-1]
        m[f"{name} validation"] = history["validation accuracy"][-1]
        m[f"{name} best validation"] = max(history["validation accuracy"])
        m[f"{name} gap"] = m[f"{name} train"] - m[f"{name} validation"]
        m[f"{name} train at epoch 5"] = history["train accuracy"][4]
        m[f"{name} seconds"] = history["time"][-1]
    return m


WIDTHS = ("width 16", "width 64", "width 256")
SIX = list(SHAPES)


def _rising(m: dict, key: str) -> bool:
    """The value grows from 16 to 64 to 256 hidden units."""
    return m[f"width 16 {key}"] < m[f"width 64 {key}"] < m[f"width 256 {key}"]


CLAIMS = [
    {"where": "Question 1 rubric", "claim": "wider networks fit the training set faster and further: training "
                                            "accuracy at epoch 5 and at epoch 30 rises from 16 to 64 to 256 units "
                                            "(about 0.89, 0.93, 0.96 at the end)",
     "values": [f"{w} train" for w in WIDTHS] + [f"{w} train at epoch 5" for w in WIDTHS],
     "holds": lambda m: _rising(m, "train") and _rising(m, "train at epoch 5") and m["width 256 train"] > 0.94},
    {"where": "Question 1 rubric", "claim": "the gap between training and validation accuracy grows with the width "
                                            "(about 7 to about 15 points); even 16 units (12,730 parameters, 13 per "
                                            "training image) leave a gap over 5 points",
     "values": [f"{w} gap" for w in WIDTHS], "holds": lambda m: _rising(m, "gap") and m["width 16 gap"] > 0.05},
    {"where": "Question 1 rubric", "claim": "more layers of 128 fit the training set no better than one (3 layers end "
                                            "within 3 points of 1 layer) and the three-layer network starts slowest "
                                            "(training accuracy at epoch 5 below one layer's)",
     "values": ["depth 1 train", "depth 3 train", "depth 1 train at epoch 5", "depth 3 train at epoch 5"],
     "holds": lambda m: abs(m["depth 3 train"] - m["depth 1 train"]) < 0.03
     and m["depth 3 train at epoch 5"] < m["depth 1 train at epoch 5"]},
    {"where": "Question 1 rubric", "claim": "the validation accuracy levels off: the best validation accuracies of "
                                            "all six networks lie within 3 points (about 0.83-0.85)",
     "values": [f"{name} best validation" for name in SIX],
     "holds": lambda m: max(m[f"{n} best validation"] for n in SIX) - min(m[f"{n} best validation"] for n in SIX) < 0.03},
    {"where": "Question 1 rubric", "claim": "time grows with the width: 256 units take over 1.3 x as long as 16",
     "values": ["width 16 seconds", "width 256 seconds"],
     "holds": lambda m: m["width 256 seconds"] > 1.3 * m["width 16 seconds"]},
]
