"""What the text and the rubrics of chapter 7 state about its experiments (checked over seeds by
benchmarks/chapter_claims.py): section 7.2's run without dropout, section 7.3's augmentation sweep (Question 2) and
section 7.4's early stopping and test set (Question 3), each run as the notebook runs it with the seed given."""
import copy

import torch
from torch import nn

from course import fashion_mnist, fashion_mnist_split, fit, sweep


def _no_dropout_net() -> nn.Sequential:
    """Section 7.2's build_dropout_net(0.0, 0.0)."""
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.0),
                         nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.0), nn.Linear(256, 10))


def _without_dropout(seed: int, train, validation) -> dict[str, float]:
    """Section 7.2's run without dropout: where its validation loss is lowest, how far it climbs by epoch 60."""
    torch.manual_seed(seed)
    net = _no_dropout_net()
    history = fit(net, train, validation, torch.optim.Adam(net.parameters(), lr=0.001), epochs=60, batch_size=32,
                  progress=False, layer_stats=False)
    loss = history["validation loss"]
    return {"no dropout: epoch of lowest validation loss": 1 + loss.index(min(loss)),
            "no dropout: validation loss at 60 / lowest": loss[-1] / min(loss),
            "no dropout: train accuracy at 60": history["train accuracy"][-1]}


AUGMENTATIONS = {"none": {}, "noise 0.2": {"noise_sigma": 0.2}, "flip": {"flip_horizontal": True},
                 "shift 2": {"shift": 2}, "noise + flip + shift": {"noise_sigma": 0.1, "flip_horizontal": True, "shift": 2}}


def _augmentation(seed: int, train, validation) -> dict[str, float]:
    """Section 7.3's sweep for one seed: when the validation loss is lowest, the training accuracy at epoch 60."""
    found = sweep(lambda: nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)), train, validation,
                  [{"title": name, "augment": settings} for name, settings in AUGMENTATIONS.items()],
                  epochs=60, device="cpu", batch_size=32, optimizer="adam", lr=0.001, seed=seed, progress=False)
    m = {}
    for name in ("none", "noise + flip + shift"):
        loss = list(found[name]["validation loss"])
        m[f"{name}: epoch of lowest validation loss"] = 1 + loss.index(min(loss))
        m[f"{name}: train accuracy at 60"] = found[name]["train accuracy"][-1]
    return m


def _early_stopping(seed: int, train, validation, test) -> dict[str, float]:
    """Section 7.4: early stopping with patience 10 on the network without dropout, then the test set once."""
    torch.manual_seed(seed)
    net = _no_dropout_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    scores, best_state, waited = [], None, 0
    while len(scores) < 60 and waited < 10:
        history = fit(net, train, validation, optimizer, epochs=1, batch_size=32, progress=False, layer_stats=False)
        scores.append(history["validation accuracy"][-1])
        if scores[-1] > max(scores[:-1], default=float("-inf")):
            best_state, waited = copy.deepcopy(net.state_dict()), 0
        else:
            waited += 1
    net.load_state_dict(best_state)
    net.eval()
    with torch.no_grad():
        test_accuracy = (net(test.images).argmax(dim=1) == test.labels).float().mean().item()
    return {"early stopping: best validation accuracy": max(scores), "early stopping: test accuracy": test_accuracy,
            "early stopping: epochs run": len(scores)}


def measure(seed: int) -> dict[str, float]:
    """Every experiment of the chapter that its text or rubrics state an outcome of, with one seed."""
    train, validation = fashion_mnist_split()
    return {**_without_dropout(seed, train, validation), **_augmentation(seed, train, validation),
            **_early_stopping(seed, train, validation, fashion_mnist(train=False))}


CLAIMS = [
    {"where": "section 7.4 text", "claim": "without dropout the validation loss is lowest after about ten epochs "
                                          "(between 5 and 20) and then climbs (over 1.5 x its lowest by epoch 60), "
                                          "while the training accuracy goes to 1 (over 0.97)",
     "values": ["no dropout: epoch of lowest validation loss", "no dropout: validation loss at 60 / lowest",
                "no dropout: train accuracy at 60"],
     "holds": lambda m: 5 <= m["no dropout: epoch of lowest validation loss"] <= 20
     and m["no dropout: validation loss at 60 / lowest"] > 1.5 and m["no dropout: train accuracy at 60"] > 0.97},
    {"where": "Question 2 rubric", "claim": "without augmentation the training accuracy reaches about 1 (over 0.98) "
                                            "and the validation loss is lowest within the first 20 epochs",
     "values": ["none: train accuracy at 60", "none: epoch of lowest validation loss"],
     "holds": lambda m: m["none: train accuracy at 60"] > 0.98 and m["none: epoch of lowest validation loss"] <= 20},
    {"where": "Question 2 rubric", "claim": "with noise, flips and shifts the training accuracy is under 0.9 after 60 "
                                            "epochs and the validation loss is lowest only after epoch 30",
     "values": ["noise + flip + shift: train accuracy at 60", "noise + flip + shift: epoch of lowest validation loss"],
     "holds": lambda m: m["noise + flip + shift: train accuracy at 60"] < 0.9
     and m["noise + flip + shift: epoch of lowest validation loss"] > 30},
    {"where": "Question 3 rubric", "claim": "the test accuracy of the early-stopped network is below its best "
                                            "validation accuracy, by more than two points",
     "values": ["early stopping: best validation accuracy", "early stopping: test accuracy", "early stopping: epochs run"],
     "holds": lambda m: m["early stopping: best validation accuracy"] - m["early stopping: test accuracy"] > 0.02},
]
