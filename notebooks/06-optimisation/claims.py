"""What chapter 6's text and the rubrics of Questions 1 to 4 state about its experiments (checked over seeds by
benchmarks/chapter_claims.py). The notebook's runs, through ``sweep`` with one seed for the initial weights and the
minibatch order: the 784-128-64-10 network on the 1000 training and 500 validation images,

- 6.1: SGD and Adam at learning rates 0.1 to 0.0001, minibatches of 32, 50 epochs;
- 6.3: Adam at 0.0001 with minibatches of 4 to 128, 50 epochs;
- 6.4: plain SGD at 0.01 and 0.1, momentum 0.9 at 0.01 with a constant rate and with cosine annealing, 30 epochs.
  ``torch.optim.SGD(momentum=0.9)`` stands in for the notebook's ``HandMomentum``: Task 4's tests hold the two to
  the same numbers (to float rounding).
"""
import statistics

import torch
from torch import nn

from course import fashion_mnist_split, fit, sweep

RATES = (0.1, 0.01, 0.001, 0.0001)
BATCH_SIZES = (4, 16, 32, 64, 128)
MOMENTUM_EPOCHS = 30


def build_net() -> nn.Sequential:
    """The chapter's network (its setup cell)."""
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def _mean(values: list[float]) -> float:
    return statistics.mean(values)


def _learning_rates(seed: int, train, validation) -> dict[str, float]:
    """6.1 and 6.2: per run, the accuracy at epoch 10, over epochs 31-40 and 41-50, and how it jumps at the end;
    for Adam 0.001 the validation loss, the size of its logits and its confidence on the training set."""
    experiments = [{"title": f"{name} {lr}", "optimizer": name, "lr": lr} for lr in RATES for name in ("sgd", "adam")]
    histories = sweep(build_net, train, validation, experiments, epochs=50, batch_size=32, seed=seed,
                      progress=False, keep_outputs=True, workers=1)
    m = {}
    for title, history in histories.items():
        accuracy = history["validation accuracy"]
        m[f"{title} epoch 10"], m[f"{title} epochs 6-15"] = accuracy[9], _mean(accuracy[5:15])
        m[f"{title} epochs 31-40"], m[f"{title} epochs 41-50"] = _mean(accuracy[30:40]), _mean(accuracy[40:])
        m[f"{title} best"], m[f"{title} final"] = max(accuracy), accuracy[-1]
        m[f"{title} spread 41-50"] = statistics.pstdev(accuracy[40:])  # epoch to epoch, within one run
    adam = histories["adam 0.001"]
    loss = adam["validation loss"]
    lowest = loss.index(min(loss))
    m["adam 0.001 lowest validation loss epoch"], m["adam 0.001 lowest validation loss"] = lowest, loss[lowest]
    m["adam 0.001 final validation loss"] = loss[-1]
    m["adam 0.001 accuracy around the lowest loss"] = _mean(adam["validation accuracy"][max(0, lowest - 2):lowest + 3])
    logits = next(key for key in adam if key.startswith("train 4:") and key.endswith("abs mean"))
    m["adam 0.001 |logit| at the lowest loss"], m["adam 0.001 |logit| final"] = adam[logits][lowest], adam[logits][-1]
    confidence = [torch.softmax(torch.as_tensor(o), dim=1).max(dim=1).values.mean().item() for o in adam["train outputs"]]
    m["adam 0.001 confidence at the lowest loss"], m["adam 0.001 confidence final"] = confidence[lowest], confidence[-1]
    return m


def _batch_sizes(seed: int, train, validation) -> dict[str, float]:
    """6.3: per minibatch size, the accuracy after 10 epochs and after 400 update steps, the best accuracy and the
    seconds until the validation accuracy first reaches 0.8 (inf if never): the epochs it takes times the seconds
    of one epoch (``_epoch_seconds``)."""
    experiments = [{"title": f"batch {size}", "batch_size": size} for size in BATCH_SIZES]
    histories = sweep(build_net, train, validation, experiments, epochs=50, optimizer="adam", lr=1e-4, seed=seed,
                      progress=False, layer_stats=False, keep_outputs=False, workers=1)
    seconds = _epoch_seconds(train, validation)
    m = {}
    for title, history in histories.items():
        accuracy, steps = history["validation accuracy"], history["train steps"]
        m[f"{title} epoch 10"], m[f"{title} best"] = accuracy[9], max(accuracy)
        m[f"{title} after 400 steps"] = accuracy[next(i for i, s in enumerate(steps) if s >= 400)]
        needed = next((epoch + 1 for epoch, a in enumerate(accuracy) if a >= 0.8), float("inf"))
        m[f"{title} seconds to 0.8"] = needed * seconds[title]
    m["fastest of 16-64 seconds to 0.8"] = min(m[f"batch {size} seconds to 0.8"] for size in (16, 32, 64))
    return m


def _epoch_seconds(train, validation, rounds: int = 3) -> dict[str, float]:
    """Seconds of one epoch per minibatch size: the fastest of ``rounds`` rounds that take every size in turn, so
    that the load of a shared machine, which comes and goes, falls on every size alike and leaves the minimum."""
    seconds: dict[str, list[float]] = {f"batch {size}": [] for size in BATCH_SIZES}
    for _ in range(rounds):
        for size in BATCH_SIZES:
            net = build_net()
            history = fit(net, train, validation, torch.optim.Adam(net.parameters(), lr=1e-4), epochs=1,
                          batch_size=size, progress=False, layer_stats=False, keep_outputs=False)
            seconds[f"batch {size}"].append(history["time"][-1])
    return {title: min(times) for title, times in seconds.items()}


def _momentum(seed: int, train, validation) -> dict[str, float]:
    """6.4: final and best validation accuracy, and how much it moves over the last five epochs."""
    def cosine(optimizer):
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=MOMENTUM_EPOCHS)

    experiments = [{"title": "SGD 0.01", "lr": 0.01}, {"title": "SGD 0.1", "lr": 0.1},
                   {"title": "momentum 0.01", "lr": 0.01, "optimizer_options": {"momentum": 0.9}},
                   {"title": "momentum 0.01 cosine", "lr": 0.01, "optimizer_options": {"momentum": 0.9},
                    "scheduler": cosine}]
    histories = sweep(build_net, train, validation, experiments, epochs=MOMENTUM_EPOCHS, batch_size=32,
                      optimizer="sgd", seed=seed, progress=False, layer_stats=False, keep_outputs=False, workers=1)
    m = {}
    for title, history in histories.items():
        accuracy = history["validation accuracy"]
        m[f"{title} final"], m[f"{title} best"] = accuracy[-1], max(accuracy)
        m[f"{title} last-5 spread"] = statistics.pstdev(accuracy[-5:])
    return m


def measure(seed: int) -> dict[str, float]:
    """Every number the claims below rest on, for one seed."""
    train, validation = fashion_mnist_split()
    return {**_learning_rates(seed, train, validation), **_batch_sizes(seed, train, validation),
            **_momentum(seed, train, validation)}


def _gain(m: dict, title: str) -> float:
    """How much a run's mean validation accuracy rose from epochs 31-40 to epochs 41-50."""
    return m[f"{title} epochs 41-50"] - m[f"{title} epochs 31-40"]


CLAIMS = [
    {"where": "Question 1 rubric", "claim": "Adam 0.001 has converged near 0.8: its accuracy over epochs 41-50 is "
                                            "within 2 points of epochs 31-40",
     "values": ["adam 0.001 epochs 31-40", "adam 0.001 epochs 41-50"],
     "holds": lambda m: abs(_gain(m, "adam 0.001")) < 0.02 and m["adam 0.001 epochs 41-50"] > 0.78},
    {"where": "Question 1 rubric", "claim": "Adam 0.01 is near 0.8 from about epoch 10 (over epochs 6-15 above 0.77 "
                                            "on average) and gains only a few points after (under 5 to epochs 41-50)",
     "values": ["adam 0.01 epochs 6-15", "adam 0.01 epochs 41-50"],
     "holds": lambda m: m["adam 0.01 epochs 6-15"] > 0.77
     and -0.02 < m["adam 0.01 epochs 41-50"] - m["adam 0.01 epochs 6-15"] < 0.05},
    {"where": "Question 1 rubric", "claim": "SGD 0.1 has stopped improving (under 4 points up or down between epochs "
                                            "31-40 and 41-50) but jumps from epoch to epoch: over epochs 41-50 it is "
                                            "on average more than 3 points below its best of about 0.83",
     "values": ["sgd 0.1 epochs 31-40", "sgd 0.1 epochs 41-50", "sgd 0.1 spread 41-50", "sgd 0.1 best"],
     "holds": lambda m: abs(_gain(m, "sgd 0.1")) < 0.04 and m["sgd 0.1 best"] > m["sgd 0.1 epochs 41-50"] + 0.03},
    {"where": "Question 1 rubric", "claim": "SGD 0.01 is still improving at epoch 50 (over 2 points more in epochs "
                                            "41-50 than in 31-40), below Adam 0.001",
     "values": ["sgd 0.01 epochs 31-40", "sgd 0.01 epochs 41-50"],
     "holds": lambda m: _gain(m, "sgd 0.01") > 0.02 and m["sgd 0.01 epochs 41-50"] < m["adam 0.001 epochs 41-50"]},
    {"where": "Question 1 rubric", "claim": "Adam 0.0001 ends above 0.8, still gaining a little (0 to 2.5 points "
                                            "from epochs 31-40 to 41-50)",
     "values": ["adam 0.0001 final", "adam 0.0001 epochs 31-40", "adam 0.0001 epochs 41-50"],
     "holds": lambda m: m["adam 0.0001 final"] > 0.8 and 0 < _gain(m, "adam 0.0001") < 0.025},
    {"where": "Question 1 rubric", "claim": "SGD 0.001 is still climbing but below 0.5; SGD 0.0001 hardly learned "
                                            "(best below 0.2, chance is 0.1)",
     "values": ["sgd 0.001 epochs 31-40", "sgd 0.001 epochs 41-50", "sgd 0.0001 best"],
     "holds": lambda m: 0 < _gain(m, "sgd 0.001") and m["sgd 0.001 best"] < 0.5 and m["sgd 0.0001 best"] < 0.2},
    {"where": "Question 1 rubric", "claim": "Adam 0.1 never learns much: best below 0.6",
     "values": ["adam 0.1 best", "adam 0.1 final"], "holds": lambda m: m["adam 0.1 best"] < 0.6},
    {"where": "Question 1 rubric", "claim": "for SGD the larger rate is faster: accuracy at epoch 10 falls from 0.1 to "
                                            "0.01 to 0.001; Adam 0.001 at epoch 10 is ahead of SGD's best rate and of "
                                            "Adam 0.0001",
     "values": ["sgd 0.1 epoch 10", "sgd 0.01 epoch 10", "sgd 0.001 epoch 10", "adam 0.001 epoch 10",
                "adam 0.0001 epoch 10"],
     "holds": lambda m: m["sgd 0.1 epoch 10"] > m["sgd 0.01 epoch 10"] > m["sgd 0.001 epoch 10"]
     and m["adam 0.001 epoch 10"] > m["sgd 0.1 epoch 10"] + 0.05
     and m["adam 0.001 epoch 10"] > m["adam 0.0001 epoch 10"] + 0.05},
    {"where": "Question 1 text", "claim": "a steady run's validation accuracy moves by a point or two from epoch to "
                                          "epoch (Adam 0.001 over epochs 41-50: standard deviation below 2.5 points); "
                                          "an erratic one's far more (SGD 0.1, shown beside it: see its claim)",
     "values": ["adam 0.001 spread 41-50", "sgd 0.1 spread 41-50"],
     "holds": lambda m: m["adam 0.001 spread 41-50"] < 0.025},
    {"where": "6.2 text and Question 2 rubric", "claim": "Adam 0.001: the validation loss is lowest before epoch 30 "
                                                         "and then rises by over 0.2, while the validation accuracy "
                                                         "stays within 2 points of its level at the lowest loss",
     "values": ["adam 0.001 lowest validation loss epoch", "adam 0.001 lowest validation loss",
                "adam 0.001 final validation loss", "adam 0.001 accuracy around the lowest loss",
                "adam 0.001 epochs 41-50"],
     "holds": lambda m: m["adam 0.001 lowest validation loss epoch"] < 30
     and m["adam 0.001 final validation loss"] > m["adam 0.001 lowest validation loss"] + 0.2
     and abs(m["adam 0.001 epochs 41-50"] - m["adam 0.001 accuracy around the lowest loss"]) < 0.02},
    {"where": "Question 2 rubric", "claim": "meanwhile the logits grow (mean |output| over 1.3 x) and the mean "
                                            "confidence on the training set rises above 0.95",
     "values": ["adam 0.001 |logit| at the lowest loss", "adam 0.001 |logit| final",
                "adam 0.001 confidence at the lowest loss", "adam 0.001 confidence final"],
     "holds": lambda m: m["adam 0.001 |logit| final"] > 1.3 * m["adam 0.001 |logit| at the lowest loss"]
     and m["adam 0.001 confidence final"] > max(0.95, m["adam 0.001 confidence at the lowest loss"])},
    {"where": "Question 3 rubric", "claim": "per epoch the small minibatches learn fastest: accuracy at epoch 10 "
                                            "falls with the batch size, 4 > 16 > 32 > 64 > 128",
     "values": [f"batch {size} epoch 10" for size in BATCH_SIZES],
     "holds": lambda m: all(m[f"batch {a} epoch 10"] > m[f"batch {b} epoch 10"]
                            for a, b in zip(BATCH_SIZES, BATCH_SIZES[1:]))},
    {"where": "Question 3 rubric", "claim": "per update step the large minibatches do better: accuracy after 400 "
                                            "steps rises with the batch size, 4 < 16 < 32 < 64 < 128",
     "values": [f"batch {size} after 400 steps" for size in BATCH_SIZES],
     "holds": lambda m: all(m[f"batch {a} after 400 steps"] < m[f"batch {b} after 400 steps"]
                            for a, b in zip(BATCH_SIZES, BATCH_SIZES[1:]))},
    {"where": "Question 3 rubric", "claim": "in seconds, a middle size (16-64) reaches 0.8 first, batch 4 takes "
                                            "over twice as long, batch 128 never reaches 0.8 in 50 epochs",
     "values": ["fastest of 16-64 seconds to 0.8", "batch 4 seconds to 0.8", "batch 128 best"],
     "holds": lambda m: m["batch 4 seconds to 0.8"] > 2 * m["fastest of 16-64 seconds to 0.8"]
     and m["batch 128 best"] < 0.8},
    {"where": "Question 4 rubric", "claim": "momentum 0.9 at lr 0.01 ends far above plain SGD at 0.01 (over 8 "
                                            "points on every seed)",
     "values": ["SGD 0.01 final", "momentum 0.01 final"],
     "holds": lambda m: m["momentum 0.01 final"] > m["SGD 0.01 final"] + 0.08},
    {"where": "Question 4 rubric", "claim": "momentum at 0.01 reaches the best accuracy of plain SGD at 0.1 "
                                            "(from a point below to 3 above): lr / (1 - momentum) = 0.1",
     "values": ["SGD 0.1 best", "momentum 0.01 best"],
     "holds": lambda m: -0.01 < m["momentum 0.01 best"] - m["SGD 0.1 best"] < 0.03},
    {"where": "Question 4 rubric", "claim": "with the cosine schedule the last five epochs move by under half a point "
                                            "and less than without it, and the final accuracy is within a point of "
                                            "the best",
     "values": ["momentum 0.01 last-5 spread", "momentum 0.01 cosine last-5 spread", "momentum 0.01 cosine final",
                "momentum 0.01 cosine best"],
     "holds": lambda m: m["momentum 0.01 cosine last-5 spread"] < min(0.005, m["momentum 0.01 last-5 spread"])
     and m["momentum 0.01 cosine best"] - m["momentum 0.01 cosine final"] < 0.01},
]
