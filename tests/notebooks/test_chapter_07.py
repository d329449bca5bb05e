"""Chapter 7 (model selection and regularisation): course check (solution, student version, mutants), then real
nbgrader autograde of wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "07-regularisation"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "weight_decay_step": "test_weight_decay_step",
    "dropout": "test_dropout",
    "augmented_sets": "test_augmented_sets",
    "mean_and_std": "test_mean_and_std",
    "early_stopping": "test_early_stopping",
}
GRADING_ENV = {"OMP_NUM_THREADS": "1"}  # one thread per kernel (see test_chapter_05)

DROPOUT = "dropout(X, p, training=True)"
DECAY = "weight_decay_step(params, lr, weight_decay)"
DROPOUT_START = ("if not 0 <= p <= 1:\n    raise ValueError(p)\nif not training or p == 0:\n    return X\n"
                 "if p == 1:\n    return torch.zeros_like(X)\n")

SPREAD = 'mean_and_std(histories, key="validation accuracy")'
SPREAD_START = ("if len(histories) < 2:\n    raise ValueError(len(histories))\n"
                "values = torch.tensor([list(h[key]) for h in histories])\n")
STOP = "early_stopping(net, run_epoch, max_epochs, patience)"


def stopping(keep: str = "copy.deepcopy(net.state_dict())", reset: str = "0", stop: str = "waited == patience",
             restore: str = "net.load_state_dict(best_state)\n") -> str:
    """An early_stopping answer with one of its parts replaced (the defaults give the reference)."""
    return answer(STOP, "scores, best, best_state, waited = [], float('-inf'), None, 0\n"
                        "for _ in range(max_epochs):\n    score = run_epoch()\n    scores.append(score)\n"
                        f"    if score > best:\n        best, best_state, waited = score, {keep}, {reset}\n"
                        f"    else:\n        waited += 1\n        if {stop}:\n            break\n{restore}return scores")


WRONG = {
    "wrong_a": {
        # keeps the last weights: never loads the best epoch's state back
        "early_stopping": stopping(restore=""),
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
        # keeps net.state_dict() itself: its tensors are the live parameters, so it "restores" the last weights
        "early_stopping": stopping(keep="net.state_dict()"),
        # the decay term is not multiplied by the learning rate
        "weight_decay_step": answer(DECAY,
                                    "with torch.no_grad():\n    for p in params:\n        if p.grad is None:\n"
                                    "            continue\n        p -= lr * p.grad + weight_decay * p\n"
                                    "        p.grad.zero_()"),
        # one mask per sample row (whole rows dropped)
        "dropout": answer(DROPOUT, DROPOUT_START + "mask = (torch.rand(X.shape[0], 1) > p).float()\n"
                          "return mask * X / (1 - p)"),
        # the population standard deviation (divide by n) instead of the sample one
        "mean_and_std": answer(SPREAD, SPREAD_START + "return values.mean(dim=0), values.std(dim=0, unbiased=False)"),
    },
    # the library function that Task 2 asks to write; and (one notebook run less) counting every epoch without a
    # new best, not those in a row: a new best does not start the count again
    "library": {"dropout": answer(DROPOUT, "return nn.functional.dropout(X, p, training)"),
                "early_stopping": stopping(reset="waited")},
}

# Other library routes to Task 1's update and Task 2's dropout (each right in value): an optimiser's own step,
# the functional optimiser, the fused multi-tensor kernel; the operator itself, the module, an alias bound before
ZERO = "\nfor p in params:\n    p.grad.zero_()"
LIBRARY = {  # library_1 also stops one epoch too late (after patience + 1 epochs without a new best)
    "library_1": {"early_stopping": stopping(stop="waited > patience"),
                  "weight_decay_step": answer(DECAY, "torch.optim.SGD(params, lr=lr, weight_decay=weight_decay).step()" + ZERO),
                  "dropout": answer(DROPOUT, "if not 0 <= p <= 1:\n    raise ValueError(p)\n"
                                             "return torch.ops.aten.native_dropout(X, p, training)[0]")},
    "library_2": {"weight_decay_step": answer(DECAY, "with torch.no_grad():\n"
                                                     "    torch.optim._functional.sgd(params, [p.grad for p in params], "
                                                     "[None] * len(params), weight_decay=weight_decay, momentum=0.0, lr=lr, "
                                                     "dampening=0.0, nesterov=False, maximize=False)" + ZERO),
                  "dropout": answer(DROPOUT, "return nn.Dropout(p)(X) if training else X")},
    "library_3": {"weight_decay_step": answer(DECAY, "with torch.no_grad():\n    grads = [p.grad for p in params]\n"
                                                     "    torch._foreach_add_(grads, params, alpha=weight_decay)\n"
                                                     "    torch._foreach_add_(params, grads, alpha=-lr)" + ZERO),
                  "dropout": "from torch.nn.functional import dropout as library_dropout\n"
                             + answer(DROPOUT, "return library_dropout(X, p, training)")},
}
# Another correct early stopping: the best epoch from the list, the state copied tensor by tensor
RIGHT = {"right": {"early_stopping": answer(STOP, "scores, saved = [], None\nfor epoch in range(max_epochs):\n"
                                                 "    scores.append(run_epoch())\n    best = scores.index(max(scores))\n"
                                                 "    if best == epoch:\n"
                                                 "        saved = {k: v.detach().clone() for k, v in net.state_dict().items()}\n"
                                                 "    elif epoch - best >= patience:\n        break\n"
                                                 "net.load_state_dict(saved)\nreturn scores")}}
REFUSED = {
    "library": {"test_dropout": "F.dropout"},
    "library_1": {"test_weight_decay_step": "SGD.step", "test_dropout": "aten::native_dropout (it computes F.dropout)"},
    "library_2": {"test_weight_decay_step": "torch.optim._functional.sgd", "test_dropout": "nn.Dropout"},
    "library_3": {"test_weight_decay_step": "aten::_foreach_add_ (an operator torch.optim uses)", "test_dropout": "F.dropout"},
}


@pytest.mark.slow
def test_chapter_07_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, {**WRONG, **LIBRARY}, env=GRADING_ENV, right=RIGHT)
    for student, refused in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, refused)
