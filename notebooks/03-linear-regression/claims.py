"""What the text and the Questions' rubrics state about the chapter's runs (checked over seeds by
benchmarks/chapter_claims.py): y = 2 x1 - 3.4 x2 + 4.2 plus noise of 0.01, 1000 points from ``linear_data``;
minibatch SGD by hand (lr 0.03, batches of 10, 5 epochs) and full-batch gradient descent for 60 steps at
the plotted learning rates, through ``sweep``; section 6's polynomials (the notebook's data, 20 training points,
float64 least squares as Task 6 asks)."""
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from course import linear_data, polynomial_data, polynomial_features, sweep

TRUE_W, TRUE_B = torch.tensor([2.0, -3.4]), 4.2
RATES = (0.003, 0.3, 0.7, 1.05)  # too small, good, good, too large (the plot's 0.03 lies between)
NOISE_LEVEL = 0.01 ** 2  # the mean squared error of the true line
POLYNOMIAL_NOISE_LEVEL = 0.25  # polynomial_data(noise=0.5)


def by_hand(features: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    """The largest error of w and b after the notebook's loop: 5 epochs of SGD at 0.03 on batches of 10."""
    generator = torch.Generator().manual_seed(seed)
    w = torch.normal(0, 0.01, size=(2, 1), generator=generator, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for _ in range(5):
        for index in torch.randperm(len(labels), generator=generator).split(10):
            loss = ((features[index] @ w + b - labels[index]) ** 2 / 2).mean()
            loss.backward()
            with torch.no_grad():
                for p in (w, b):
                    p -= 0.03 * p.grad
                    p.grad.zero_()
    return max((TRUE_W - w.detach().reshape(-1)).abs().max().item(), abs(TRUE_B - b.item()))


def _errors(x_fit, y_fit, x_val, y_val, degree):
    A = polynomial_features(x_fit, degree).double()
    w = torch.linalg.lstsq(A, y_fit.double()).solution
    train = ((A @ w - y_fit.double()) ** 2).mean().item()
    validation = ((polynomial_features(x_val, degree).double() @ w - y_val.double()) ** 2).mean().item()
    return train, validation


def _polynomials(seed: int) -> dict[str, float]:
    """Training and validation errors by degree (20 points) and of degree 10 by training-set size."""
    x_all, y_all = polynomial_data(n=600, noise=0.5, seed=seed)
    x_train, y_train = x_all[:20], y_all[:20]
    inside = (x_all[300:] >= x_train.min()) & (x_all[300:] <= x_train.max())
    x_val, y_val = x_all[300:][inside], y_all[300:][inside]
    m = {}
    for degree in (1, 3, 14):
        m[f"train {degree}"], m[f"validation {degree}"] = _errors(x_train, y_train, x_val, y_val, degree)
    for n in (20, 300):
        m[f"train 10 n={n}"], m[f"validation 10 n={n}"] = _errors(x_all[:n], y_all[:n], x_val, y_val, 10)
    return m


def measure(seed: int) -> dict[str, float]:
    """The loop's error, the training loss after 60 full-batch steps at each learning rate, the polynomials' errors."""
    features, labels = linear_data(TRUE_W, TRUE_B, n=1000, noise=0.01, seed=seed)
    data = TensorDataset(features, labels)
    experiments = [{"title": f"lr {lr}", "lr": lr, "seed": seed, "build_net": lambda: nn.Linear(2, 1)} for lr in RATES]
    histories = sweep(None, data, data, experiments, optimizer="sgd", epochs=60, batch_size=len(data), seed=seed,
                      loss_fn=F.mse_loss, progress=False, layer_stats=False, keep_outputs=False, workers=1)
    m = {"largest error of w and b after the loop": by_hand(features, labels, seed)}
    for title, history in histories.items():
        m[f"{title} loss after 60 steps"] = min(history["train loss"][-1], 1e6)
        m[f"{title} loss after 10 steps"] = min(history["train loss"][9], 1e6)
    return {**m, **_polynomials(seed)}


CLAIMS = [
    {"where": "text of the training loop", "claim": "after 5 epochs the estimates are within about 0.01 of the truth",
     "values": ["largest error of w and b after the loop"],
     "holds": lambda m: m["largest error of w and b after the loop"] < 0.015},
    {"where": "Question 1", "claim": "training diverges for learning rates around 1 and above (1.05: the loss grows "
                                   "past its start) and not below (0.7 reaches the noise level)",
     "values": ["lr 1.05 loss after 60 steps", "lr 1.05 loss after 10 steps", "lr 0.7 loss after 60 steps"],
     "holds": lambda m: m["lr 1.05 loss after 60 steps"] > m["lr 1.05 loss after 10 steps"] > 1
     and m["lr 0.7 loss after 60 steps"] < 2 * NOISE_LEVEL},
    {"where": "Question 1 rubric", "claim": "too small (0.003) falls steadily but slowly: after 60 steps still far above "
                                          "the noise level; a good rate (0.3) falls to the noise level within 10 steps",
     "values": ["lr 0.003 loss after 10 steps", "lr 0.003 loss after 60 steps", "lr 0.3 loss after 10 steps"],
     "holds": lambda m: m["lr 0.003 loss after 10 steps"] > m["lr 0.003 loss after 60 steps"] > 100 * NOISE_LEVEL
     and m["lr 0.3 loss after 10 steps"] < 2 * NOISE_LEVEL},
    {"where": "Question 2 rubric", "claim": "degree 3 fits well: validation error close to the noise level 0.25",
     "values": ["validation 3"], "holds": lambda m: m["validation 3"] < 2 * POLYNOMIAL_NOISE_LEVEL},
    {"where": "Question 2 rubric", "claim": "degree 1 underfits: both errors well above degree 3's",
     "values": ["train 1", "validation 1"],
     "holds": lambda m: m["train 1"] > 2 * m["train 3"] and m["validation 1"] > 2 * m["validation 3"]},
    {"where": "Question 2 rubric", "claim": "degree 14 overfits: training error below the noise level, "
                                            "validation error grows far above the minimum (over 5 x degree 3's; "
                                            "by orders of magnitude on most seeds)",
     "values": ["train 14", "validation 14"],
     "holds": lambda m: m["train 14"] < POLYNOMIAL_NOISE_LEVEL and m["validation 14"] > 5 * m["validation 3"]},
    {"where": "Question 2 rubric", "claim": "with more data (300 points) degree 10's training error rises and "
                                            "its validation error falls towards the noise level",
     "values": ["train 10 n=20", "train 10 n=300", "validation 10 n=20", "validation 10 n=300"],
     "holds": lambda m: m["train 10 n=300"] > m["train 10 n=20"]
     and m["validation 10 n=300"] < m["validation 10 n=20"] and m["validation 10 n=300"] < 2 * POLYNOMIAL_NOISE_LEVEL},
]
