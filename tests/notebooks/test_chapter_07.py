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
DECAY = "weight_decay_step(params, lr, weight_decay)"
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
        "weight_decay_step": answer(DECAY,
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

# Other library routes to Task 4's update and Task 5's dropout (each right in value): an optimiser's own step,
# the functional optimiser, the fused multi-tensor kernel; the operator itself, the module, an alias bound before
ZERO = "\nfor p in params:\n    p.grad.zero_()"
LIBRARY = {
    "library_1": {"weight_decay_step": answer(DECAY, "torch.optim.SGD(params, lr=lr, weight_decay=weight_decay).step()" + ZERO),
                  "dropout": answer(DROPOUT, "if not 0 <= p <= 1:\n    raise ValueError(p)\n"
                                             "return torch.ops.aten.native_dropout(X, p, training)[0]")},
    "library_2": {"weight_decay_step": answer(DECAY, "with torch.no_grad():\n"
                                                     "    torch.optim._functional.sgd(params, [p.grad for p in params], "
                                                     "[None] * len(params), weight_decay=weight_decay, momentum=0.0, lr=lr, "
                                                     "dampening=0.0, nesterov=False, maximize=False)" + ZERO),
                  "dropout": answer(DROPOUT, "return nn.Dropout(p)(X) if training else X"),
                  # least squares in float32: right for low degrees, off by tenths at degree 10
                  "fit_polynomial": answer("fit_polynomial(x, y, degree)", "return torch.linalg.lstsq("
                                           "polynomial_features(x, degree), y.reshape(-1, 1)).solution")},
    "library_3": {"weight_decay_step": answer(DECAY, "with torch.no_grad():\n    grads = [p.grad for p in params]\n"
                                                     "    torch._foreach_add_(grads, params, alpha=weight_decay)\n"
                                                     "    torch._foreach_add_(params, grads, alpha=-lr)" + ZERO),
                  "dropout": "from torch.nn.functional import dropout as library_dropout\n"
                             + answer(DROPOUT, "return library_dropout(X, p, training)")},
}
REFUSED = {
    "library": {"test_dropout": "F.dropout"},
    "library_1": {"test_weight_decay_step": "SGD.step", "test_dropout": "aten::native_dropout (it computes F.dropout)"},
    "library_2": {"test_weight_decay_step": "torch.optim._functional.sgd", "test_dropout": "nn.Dropout"},
    "library_3": {"test_weight_decay_step": "aten::_foreach_add_ (it computes torch.optim)", "test_dropout": "F.dropout"},
}


@pytest.mark.slow
def test_chapter_07_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, {**WRONG, **LIBRARY}, env=GRADING_ENV)
    for student, refused in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, refused)
