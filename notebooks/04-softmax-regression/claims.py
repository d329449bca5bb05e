"""What the text and Question's rubric state about the chapter's training run (checked over seeds by
benchmarks/chapter_claims.py): softmax regression (784 -> 10), minibatch SGD at 0.1, minibatches of 32,
10 epochs, on the notebook's 1000 training and 500 validation images, through ``sweep``."""
import torch
from torch import nn

from course import CLASS_NAMES, fashion_mnist_split, sweep

# The rubric's "typically" confused pairs: the tops with each other, and the footwear with each other.
TOPS = {"T-shirt/top", "Pullover", "Coat", "Shirt"}
FOOTWEAR = {"Sandal", "Sneaker", "Ankle boot"}


def most_confused(outputs, labels, count: int = 3) -> list[tuple[str, str]]:
    """The ``count`` unordered pairs of classes confused most often on the validation set."""
    predicted = outputs.argmax(-1)
    pairs: dict[tuple[str, str], int] = {}
    for truth, guess in zip(labels.tolist(), predicted.tolist()):
        if truth != guess:
            key = tuple(sorted((CLASS_NAMES[truth], CLASS_NAMES[guess])))
            pairs[key] = pairs.get(key, 0) + 1
    return sorted(pairs, key=pairs.get, reverse=True)[:count]


def measure(seed: int) -> dict[str, float]:
    """The best validation accuracy in 10 epochs, its largest jump between epochs, and how many of the 3 most confused pairs the rubric names."""
    train, validation = fashion_mnist_split()
    experiments = [{"title": "softmax regression", "lr": 0.1, "seed": seed,
                    "build_net": lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10))}]
    (history,) = sweep(None, train, validation, experiments, optimizer="sgd", epochs=10, batch_size=32,
                       seed=seed, progress=False, layer_stats=False, workers=1).values()
    accuracy = history["validation accuracy"]
    named = [pair for pair in most_confused(torch.as_tensor(history["validation outputs"][-1]), validation.labels)
             if set(pair) <= TOPS or set(pair) <= FOOTWEAR]
    return {"best validation accuracy in 10 epochs": max(accuracy),
            "largest change from one epoch to the next": max(abs(a - b) for a, b in zip(accuracy, accuracy[1:])),
            "of the 3 most confused pairs, tops or footwear": len(named)}


CLAIMS = [
    {"where": "text before the training cell", "claim": "the validation accuracy reaches about 75-80 % at its best "
                                                        "within 10 epochs",
     "values": ["best validation accuracy in 10 epochs"],
     "holds": lambda m: 0.74 <= m["best validation accuracy in 10 epochs"] <= 0.82},
    {"where": "text before the training cell", "claim": "and jumps by several points (at least 4) from one epoch "
                                                        "to the next",
     "values": ["largest change from one epoch to the next"],
     "holds": lambda m: m["largest change from one epoch to the next"] >= 0.04},
    {"where": "Question rubric", "claim": "the pairs confused most often are tops with tops (shirt, T-shirt, "
                                          "pullover, coat) or footwear with footwear: at least 2 of the top 3",
     "values": ["of the 3 most confused pairs, tops or footwear"],
     "holds": lambda m: m["of the 3 most confused pairs, tops or footwear"] >= 2},
]
