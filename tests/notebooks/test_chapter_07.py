"""Chapter 7 (model selection and regularisation): real nbgrader autograde of the solution, the student
version and wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "07-regularisation"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "fit_polynomial": "test_fit_polynomial",
    "mse": "test_mse",
    "l2_penalty": "test_l2_penalty",
    "weight_decay_step": "test_weight_decay_step",
    "dropout": "test_dropout",
    "build_dropout_net": "test_build_dropout_net",
    "augmented_sets": "test_augmented_sets",
    "generalisation_gap": "test_generalisation_gap",
    "mean_and_std": "test_mean_and_std",
}
GRADING_ENV = {"OMP_NUM_THREADS": "1"}  # one thread per kernel (see test_chapter_05)

DROPOUT = "dropout(X, p, training=True)"
DROPOUT_START = ("if not 0 <= p <= 1:\n    raise ValueError(p)\nif not training or p == 0:\n    return X\n"
                 "if p == 1:\n    return torch.zeros_like(X)\n")

SPREAD = 'mean_and_std(histories, key="validation accuracy")'
SPREAD_START = ("if len(histories) < 2:\n    raise ValueError(len(histories))\n"
                "values = torch.tensor([list(h[key]) for h in histories])\n")

WRONG = {
    "wrong_a": {
        # one column too few: a polynomial of degree - 1
        "fit_polynomial": answer("fit_polynomial(x, y, degree)",
                                 "return torch.linalg.lstsq(polynomial_features(x, degree - 1), y).solution"),
        # forgets the factor 1/2
        "l2_penalty": answer("l2_penalty(weights)", "return sum((w ** 2).sum() for w in weights)"),
        # drops without rescaling the kept activations
        "dropout": answer(DROPOUT, DROPOUT_START + "return X * (torch.rand(X.shape) > p).float()"),
        # the standard deviation over the epochs of each run instead of over the runs
        "mean_and_std": answer(SPREAD, SPREAD_START + "return values.mean(dim=0), values.std(dim=1)"),
        # the seed's loop: only the noise is passed on, flips and shifts are forgotten
        "augmented_sets": answer("make_augmented_sets(train, settings, seed=0)",
                                 "return {name: NoisyDataset(train, s.get('noise_sigma', 0.0), seed=seed) "
                                 "for name, s in settings.items()}"),
    },
    "wrong_b": {
        # no shape check: (n,) - (n, 1) broadcasts to (n, n)
        "mse": answer("mse(prediction, target)", "return ((prediction - target) ** 2).mean().item()"),
        # the decay term is not multiplied by the learning rate
        "weight_decay_step": answer("weight_decay_step(params, lr, weight_decay)",
                                    "with torch.no_grad():\n    for p in params:\n        if p.grad is None:\n"
                                    "            continue\n        p -= lr * p.grad + weight_decay * p\n"
                                    "        p.grad.zero_()"),
        # one mask per sample row (whole rows dropped)
        "dropout": answer(DROPOUT, DROPOUT_START + "mask = (torch.rand(X.shape[0], 1) > p).float()\n"
                          "return mask * X / (1 - p)"),
        # dropout before the activation, and the same p twice
        "build_dropout_net": answer("build_dropout_net(p1, p2)",
                                    "return nn.Sequential(nn.Linear(784, 256), nn.Dropout(p1), nn.ReLU(), "
                                    "nn.Linear(256, 256), nn.Dropout(p1), nn.ReLU(), nn.Linear(256, 10))"),
        # the population standard deviation (divide by n) instead of the sample one
        "mean_and_std": answer(SPREAD, SPREAD_START + "return values.mean(dim=0), values.std(dim=0, unbiased=False)"),
        # validation minus training
        "generalisation_gap": answer("generalisation_gap(history)",
                                     "return float(history['validation accuracy'][-1] - history['train accuracy'][-1])"),
    },
    # the library function that Task 5 asks to write
    "library": {"dropout": answer(DROPOUT, "return nn.functional.dropout(X, p, training)")},
}


@pytest.mark.slow
def test_chapter_07_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, WRONG, env=GRADING_ENV)
    assert_refused(tmp_path, ASSIGNMENT, "library", {"test_dropout": "F.dropout"})
