"""Chapter 6 (optimisation and hyperparameters): course check (solution, student version, mutants), then real
nbgrader autograde of wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "06-optimisation"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "adam_step": "test_adam_step",
    "mean_confidence": "test_mean_confidence",
    "summarize": "test_summarize",
    "momentum_step": "test_momentum_step",
}
GRADING_ENV = {"OMP_NUM_THREADS": "1"}  # one thread per kernel (see test_chapter_05)

ADAM = "adam_step(w, g, m, v, t, lr=0.001, betas=(0.9, 0.999), eps=1e-8)"
MOMENTUM = "momentum_step(params, velocities, lr, momentum=0.9)"


def momentum(body: str) -> str:
    """A momentum_step answer whose loop over (p, v) runs ``body`` under torch.no_grad()."""
    return answer(MOMENTUM, "with torch.no_grad():\n    for p, v in zip(params, velocities):\n"
                  + "".join(f"        {line}\n" for line in body.strip().splitlines()))


SUMMARIZE_BODY = '''
rows = {}
for name, history in histories.items():
    accuracy = list(history["validation accuracy"])
    rows[name] = {"final validation accuracy": accuracy[-1], "best validation accuracy": max(accuracy),
                  "best epoch": accuracy.index(max(accuracy)), "train steps": history["train steps"][-1],
                  "time": TIME}
return pd.DataFrame.from_dict(rows, orient="index")
'''

WRONG = {
    "wrong_a": {
        # no bias correction: the first steps are far too small
        "adam_step": answer(ADAM, "beta1, beta2 = betas\nm = beta1 * m + (1 - beta1) * g\n"
                            "v = beta2 * v + (1 - beta2) * g * g\nreturn w - lr * m / (v.sqrt() + eps), m, v"),
        # softmax over the samples instead of the classes
        "mean_confidence": answer("mean_confidence(logits)", "logits = torch.as_tensor(logits, dtype=torch.float32)\n"
                                  "return torch.softmax(logits, dim=0).max(dim=1).values.mean().item()"),
        # new velocity tensors in the list: right numbers for one call, but an optimiser's state never sees them
        "momentum_step": answer(MOMENTUM, "with torch.no_grad():\n    for i, p in enumerate(params):\n"
                                "        velocities[i] = momentum * velocities[i] + p.grad\n"
                                "        p.sub_(lr * velocities[i])"),
    },
    "wrong_b": {
        # eps inside the square root
        "adam_step": answer(ADAM, "beta1, beta2 = betas\nm = beta1 * m + (1 - beta1) * g\n"
                            "v = beta2 * v + (1 - beta2) * g * g\n"
                            "w = w - lr * (m / (1 - beta1 ** t)) / (v / (1 - beta2 ** t) + eps).sqrt()\nreturn w, m, v"),
        # adds up the cumulative times instead of taking the last one
        "summarize": answer("summarize(histories)", SUMMARIZE_BODY.replace("TIME", 'sum(history["time"])')),
        # the dampened (moving-average) velocity: v <- mu v + (1 - mu) g, not what torch.optim.SGD computes
        "momentum_step": momentum("v.mul_(momentum).add_((1 - momentum) * p.grad)\np.sub_(lr * v)"),
    },
}


# The update that Task 1 asks to write, done by torch.optim (each right in value): the optimiser's step from the
# given state, another optimiser that reduces to Adam, the functional form bound before the answer runs
def by_optimizer(make: str) -> str:
    return answer(ADAM, f"""
p = w.detach().clone().requires_grad_()
optimizer = {make}
optimizer.state[p] = {{"step": torch.tensor(float(t - 1)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}}
p.grad = g.clone()
optimizer.step()
state = optimizer.state[p]
return p.detach(), state["exp_avg"], state["exp_avg_sq"]
""")


# The update that Task 4 asks to write, done by torch.optim: SGD's own step from the given velocities, the
# multi-tensor operators SGD uses, the functional form bound under another name before the answer runs.
MOMENTUM_BY_SGD = answer(MOMENTUM, """
optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum)
for p, v in zip(params, velocities):
    optimizer.state[p]["momentum_buffer"] = v
optimizer.step()
""")
MOMENTUM_BY_FOREACH = answer(MOMENTUM, """
with torch.no_grad():
    torch._foreach_mul_(velocities, momentum)
    torch._foreach_add_(velocities, [p.grad for p in params])
    torch._foreach_add_(params, velocities, alpha=-lr)
""")
MOMENTUM_BY_ALIAS = "from torch.optim.sgd import sgd as update\n" + answer(MOMENTUM, """
with torch.no_grad():
    update(params, [p.grad for p in params], list(velocities), weight_decay=0.0, momentum=momentum, lr=lr,
           dampening=0.0, nesterov=False, maximize=False, foreach=False)
""")

LIBRARY = {
    "library_1": {"adam_step": by_optimizer("torch.optim.Adam([p], lr=lr, betas=betas, eps=eps)"),
                  "momentum_step": MOMENTUM_BY_SGD},
    "library_2": {"adam_step": by_optimizer("torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=0.0)"),
                  "momentum_step": MOMENTUM_BY_FOREACH},
    "library_3": {"adam_step": "from torch.optim.adam import adam as library_adam\n" + answer(ADAM, """
w, m, v = w.clone(), m.clone(), v.clone()
library_adam([w], [g], [m], [v], [], [torch.tensor(float(t - 1))], foreach=False, amsgrad=False, has_complex=False,
             beta1=betas[0], beta2=betas[1], lr=lr, weight_decay=0.0, eps=eps, maximize=False)
return w, m, v
"""),
                  # the alias stays bound in the notebook, so Task 4 (which forbids torch.optim too) refuses it
                  # as well: the submission loses both tasks' points, though its momentum_step is right
                  "momentum_step": momentum("v.mul_(momentum).add_(p.grad)\np.sub_(lr * v)")},
    "library_4": {"momentum_step": MOMENTUM_BY_ALIAS},
}
REFUSED = {"library_1": {"test_adam_step": "Adam.step", "test_momentum_step": "SGD.step"},
           "library_2": {"test_adam_step": "AdamW.step",
                         "test_momentum_step": "aten::_foreach_mul_ (an operator torch.optim uses)"},
           "library_3": {"test_adam_step": "torch.optim._functional.adam",
                         "test_momentum_step": "torch.optim._functional.adam"},
           "library_4": {"test_momentum_step": "torch.optim._functional.sgd"}}
# Other correct updates keep the points: the same numbers up to float order.
RIGHT = {"right": {"momentum_step": momentum("v.copy_(momentum * v + p.grad)\np.add_(v, alpha=-lr)")}}


@pytest.mark.slow
def test_chapter_06_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, {**WRONG, **LIBRARY}, env=GRADING_ENV,
                  right=RIGHT)
    for student, refused in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, refused)
