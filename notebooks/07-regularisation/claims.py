"""What section 7.1's text and Question 1's rubric state about the polynomial experiment (checked over seeds by
benchmarks/chapter_claims.py): the notebook's data, 20 training points, float64 least squares as Task 1 asks."""
import torch

from course import polynomial_data, polynomial_features

NOISE_VARIANCE = 0.25  # polynomial_data(noise=0.5)


def _errors(x_fit, y_fit, x_val, y_val, degree):
    A = polynomial_features(x_fit, degree).double()
    w = torch.linalg.lstsq(A, y_fit.double()).solution
    train = ((A @ w - y_fit.double()) ** 2).mean().item()
    validation = ((polynomial_features(x_val, degree).double() @ w - y_val.double()) ** 2).mean().item()
    return train, validation


def measure(seed: int) -> dict[str, float]:
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


CLAIMS = [
    {"where": "Question 1 rubric", "claim": "degree 3 fits well: validation error close to the noise level 0.25",
     "values": ["validation 3"], "holds": lambda m: m["validation 3"] < 2 * NOISE_VARIANCE},
    {"where": "Question 1 rubric", "claim": "degree 1 underfits: both errors well above degree 3's",
     "values": ["train 1", "validation 1"],
     "holds": lambda m: m["train 1"] > 2 * m["train 3"] and m["validation 1"] > 2 * m["validation 3"]},
    {"where": "Question 1 rubric", "claim": "degree 14 overfits: training error below the noise level, "
                                            "validation error grows far above the minimum (over 5 x degree 3's; "
                                            "by orders of magnitude on most seeds)",
     "values": ["train 14", "validation 14"],
     "holds": lambda m: m["train 14"] < NOISE_VARIANCE and m["validation 14"] > 5 * m["validation 3"]},
    {"where": "Question 1 rubric", "claim": "with more data (300 points) degree 10's training error rises and "
                                            "its validation error falls towards the noise level",
     "values": ["train 10 n=20", "train 10 n=300", "validation 10 n=20", "validation 10 n=300"],
     "holds": lambda m: m["train 10 n=300"] > m["train 10 n=20"]
     and m["validation 10 n=300"] < m["validation 10 n=20"] and m["validation 10 n=300"] < 2 * NOISE_VARIANCE},
]
