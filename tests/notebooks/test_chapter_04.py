"""Chapter 4 (softmax regression): course check (solution, student version, mutants), then real nbgrader autograde
of wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "04-softmax-regression"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "softmax": "test_softmax",
    "log_softmax": "test_log_softmax",
    "cross_entropy": "test_cross_entropy",
    "accuracy": "test_accuracy",
    "softmax_regression": "test_softmax_regression",
    "make_softmax_regression": "test_make_softmax_regression",
    "confusion_matrix": "test_confusion_matrix",
}
SOFTMAX = "softmax(O)"
LOG_SOFTMAX = "log_softmax(O)"
CROSS_ENTROPY = "cross_entropy(O, y)"
ACCURACY = "accuracy(O, y)"
MODEL = "softmax_regression(X, W, b)"
MAKE = "make_softmax_regression()"
CONFUSION = "confusion_matrix(predictions, labels, num_classes)"


def make(net: str, loss: str = "nn.CrossEntropyLoss()") -> str:
    return answer(MAKE, f"return {net}, {loss}")


def confusion(body: str) -> str:
    return answer(CONFUSION, body)


# Plausible mistakes; each submission leaves some tasks right, to show that only the broken task loses points.
WRONG = {
    "wrong_a": {
        "softmax": answer(SOFTMAX, "return torch.exp(O) / torch.exp(O).sum(dim=1, keepdim=True)"),  # overflows
        "cross_entropy": answer(CROSS_ENTROPY, "return (torch.logsumexp(O, dim=1) - O[torch.arange(len(O)), y]).sum()"),
        "accuracy": answer(ACCURACY, "return float((O.argmax(dim=1) == y).sum())"),  # a count, not a fraction
        "softmax_regression": answer(MODEL, "return X.reshape(len(X), -1) @ W"),
        "confusion_matrix": confusion("pairs = predictions.long() * num_classes + labels.long()\n"  # transposed
                                      "return torch.bincount(pairs, minlength=num_classes ** 2).reshape(num_classes, num_classes)"),
    },
    "wrong_b": {
        "softmax": answer(SOFTMAX, "e = torch.exp(O - O.max())\nreturn e / e.sum(dim=1, keepdim=True)"),  # one max for all rows
        "log_softmax": answer(LOG_SOFTMAX, "e = torch.exp(O - O.max(dim=1, keepdim=True).values)\n"
                                           "return torch.log(e / e.sum(dim=1, keepdim=True))"),  # log of an underflowed 0
        "cross_entropy": answer(CROSS_ENTROPY, "return (torch.logsumexp(O, dim=1) - O[:, y]).mean()"),
        "accuracy": answer(ACCURACY, "return (O.argmax(dim=0) == y).float().mean().item()"),
        "make_softmax_regression": make("nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Softmax(dim=1))"),
        "confusion_matrix": confusion("C = torch.zeros(num_classes, num_classes)\n"
                                      "for t, p in zip(labels.tolist(), predictions.tolist()):\n    C[t, p] += 1\nreturn C"),
    },
    "wrong_c": {
        "softmax": answer(SOFTMAX, "e = torch.exp(O - O.max(dim=0, keepdim=True).values)\nreturn e / e.sum(dim=0, keepdim=True)"),
        "log_softmax": answer(LOG_SOFTMAX, "return O - torch.log(torch.exp(O).sum(dim=1, keepdim=True))"),
        "cross_entropy": answer(CROSS_ENTROPY, "p = torch.exp(O) / torch.exp(O).sum(dim=1, keepdim=True)\n"
                                               "return -torch.log(p[torch.arange(len(O)), y]).mean()"),
        "accuracy": answer(ACCURACY, "return (O.argmax(dim=1) == y).float().mean()"),  # a tensor, not a float
        "softmax_regression": answer(MODEL, "return X @ W + b"),
        "make_softmax_regression": make("nn.Sequential(nn.Flatten(), nn.Linear(784, 10))", "nn.NLLLoss()"),
        "confusion_matrix": confusion("pairs = labels.long() * num_classes + predictions.long()\n"
                                      "return torch.bincount(pairs).reshape(num_classes, -1)"),
    },
    # each "write it yourself" task answered with the library function it replaces
    "library": {
        # ... and tries to switch the check off by rebinding its name in the notebook
        "softmax": "write_it_yourself = lambda *names: __import__('contextlib').nullcontext()\n"
                   + answer(SOFTMAX, "return O.softmax(dim=1)"),
        "log_softmax": answer(LOG_SOFTMAX, "return O - torch.logsumexp(O, dim=1, keepdim=True)"),
        "cross_entropy": answer(CROSS_ENTROPY, "return nn.CrossEntropyLoss()(O, y)"),
    },
    # other library routes to the same results: another operator, an alias bound before the answer runs
    "library_2": {
        "softmax": answer(SOFTMAX, "return torch.exp(torch.log_softmax(O, dim=1))"),
        "log_softmax": "from torch.nn.functional import log_softmax as library_log_softmax\n"
                       + answer(LOG_SOFTMAX, "return library_log_softmax(O, dim=1)"),
        "cross_entropy": answer(CROSS_ENTROPY, "return F.nll_loss(torch.log_softmax(O, dim=1), y)"),
    },
    "library_3": {
        "softmax": "library_softmax = F.softmax\n" + answer(SOFTMAX, "return library_softmax(O, dim=1)"),
        "log_softmax": answer(LOG_SOFTMAX, "return nn.LogSoftmax(dim=1)(O)"),
        "cross_entropy": answer(CROSS_ENTROPY, "return F.kl_div(torch.log_softmax(O, dim=1), "
                                               "F.one_hot(y, O.shape[1]).to(O.dtype), reduction='batchmean')"),
    },
    "library_4": {
        "softmax": answer(SOFTMAX, "return torch.ops.aten._softmax(O, 1, False)"),
        "log_softmax": answer(LOG_SOFTMAX, "return torch.ops.aten._log_softmax(O, 1, False)"),
        "cross_entropy": "library_cross_entropy = F.cross_entropy\n" + answer(CROSS_ENTROPY, "return library_cross_entropy(O, y)"),
    },
}
REFUSED = {
    "library": {"test_softmax": "Tensor.softmax (the same as torch.softmax)", "test_log_softmax": "torch.logsumexp",
                "test_cross_entropy": "nn.CrossEntropyLoss"},
    "library_2": {"test_softmax": "aten::_log_softmax (it computes torch.softmax)", "test_log_softmax": "F.log_softmax",
                  "test_cross_entropy": "F.nll_loss"},
    "library_3": {"test_softmax": "F.softmax", "test_log_softmax": "nn.LogSoftmax (the same as F.log_softmax)",
                  "test_cross_entropy": "F.kl_div (the same as F.cross_entropy)"},
    "library_4": {"test_softmax": "aten::_softmax (it computes torch.softmax)",
                  "test_log_softmax": "aten::_log_softmax (it computes torch.log_softmax)",
                  "test_cross_entropy": "F.cross_entropy"},
}


@pytest.mark.slow
def test_chapter_04_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, WRONG)
    for student, refused in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, refused)
