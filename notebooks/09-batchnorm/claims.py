"""What Questions 2 and 4's rubrics state about the chapter's runs (checked over seeds by
benchmarks/chapter_claims.py): 784-128-64-10 with and without batch norm, SGD at 0.01, 0.1 and 1.0, 40 epochs,
minibatches of 32, on the notebook's 1000 training and 500 validation images, through ``sweep``."""
from torch import nn

from course import fashion_mnist_split, sweep

RATES = (0.01, 0.1, 1.0)


def build_net(use_batch_norm: bool) -> nn.Sequential:
    """The notebook's Task 3 network (nn.BatchNorm1d before each hidden ReLU)."""
    layers = []
    for n_in, n_out in ((784, 128), (128, 64)):
        layers += [nn.Linear(n_in, n_out)] + ([nn.BatchNorm1d(n_out)] if use_batch_norm else []) + [nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(64, 10))


def measure(seed: int) -> dict[str, float]:
    """Best validation accuracy per learning rate with and without batch norm; final accuracies at 0.01."""
    train, validation = fashion_mnist_split()
    experiments = [{"title": f"{'bn' if bn else 'plain'} {lr}", "lr": lr, "seed": seed,
                    "build_net": (lambda bn=bn: build_net(bn))} for bn in (False, True) for lr in RATES]
    histories = sweep(None, train, validation, experiments, optimizer="sgd", epochs=40, batch_size=32,
                      progress=False, layer_stats=False, keep_outputs=False, workers=1)
    m = {}
    for title, history in histories.items():
        m[f"{title} best validation"] = max(history["validation accuracy"])
        m[f"{title} final validation"] = history["validation accuracy"][-1]
        m[f"{title} final train"] = history["train accuracy"][-1]
    return m


CLAIMS = [
    {"where": "Question 2 rubric", "claim": "at lr 0.01 the batch-norm network reaches a higher training accuracy",
     "values": ["plain 0.01 final train", "bn 0.01 final train"],
     "holds": lambda m: m["bn 0.01 final train"] > m["plain 0.01 final train"] + 0.1},
    {"where": "Question 2 rubric", "claim": "at lr 0.01 batch norm ends with a higher validation accuracy (by more "
                                            "than 4 points: beyond the run-to-run spread)",
     "values": ["plain 0.01 final validation", "bn 0.01 final validation"],
     "holds": lambda m: m["bn 0.01 final validation"] > m["plain 0.01 final validation"] + 0.04},
    {"where": "Question 2 rubric", "claim": "the plain network at lr 0.1 reaches the same best validation accuracy "
                                            "as batch norm at 0.01 (within 3 points)",
     "values": ["plain 0.1 best validation", "bn 0.01 best validation"],
     "holds": lambda m: abs(m["plain 0.1 best validation"] - m["bn 0.01 best validation"]) < 0.03},
    {"where": "Question 4 rubric", "claim": "with batch norm all three rates train to about the same best validation "
                                            "accuracy (within 3 points): the larger rates are usable, not better",
     "values": [f"bn {lr} best validation" for lr in RATES],
     "holds": lambda m: min(m[f"bn {lr} best validation"] for lr in RATES) > 0.75
     and max(m[f"bn {lr} best validation"] for lr in RATES) - min(m[f"bn {lr} best validation"] for lr in RATES) < 0.03},
    {"where": "Question 4 rubric", "claim": "without batch norm 1.0 diverges (best validation < 0.3), 0.1 trains "
                                            "(> 0.75), 0.01 slowly (0.6 to 0.75, about the 0.7 threshold)",
     "values": [f"plain {lr} best validation" for lr in RATES],
     "holds": lambda m: m["plain 1.0 best validation"] < 0.3 and m["plain 0.1 best validation"] > 0.75
     and 0.6 < m["plain 0.01 best validation"] < 0.75},
]
