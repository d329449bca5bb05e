"""Chapter 6 (optimisation and hyperparameters): real nbgrader autograde of the solution, the student
version and wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "06-optimisation"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "adam_step": "test_adam_step",
    "mean_confidence": "test_mean_confidence",
    "steps_per_epoch": "test_steps_per_epoch",
    "summarize": "test_summarize",
}
GRADING_ENV = {"OMP_NUM_THREADS": "1"}  # one thread per kernel (see test_chapter_05)

ADAM = "adam_step(w, g, m, v, t, lr=0.001, betas=(0.9, 0.999), eps=1e-8)"
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
    },
    "wrong_b": {
        # eps inside the square root
        "adam_step": answer(ADAM, "beta1, beta2 = betas\nm = beta1 * m + (1 - beta1) * g\n"
                            "v = beta2 * v + (1 - beta2) * g * g\n"
                            "w = w - lr * (m / (1 - beta1 ** t)) / (v / (1 - beta2 ** t) + eps).sqrt()\nreturn w, m, v"),
        # drops the smaller last minibatch
        "steps_per_epoch": answer("steps_per_epoch(n_samples, batch_size)", "return n_samples // batch_size"),
        # adds up the cumulative times instead of taking the last one
        "summarize": answer("summarize(histories)", SUMMARIZE_BODY.replace("TIME", 'sum(history["time"])')),
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


LIBRARY = {
    "library_1": {"adam_step": by_optimizer("torch.optim.Adam([p], lr=lr, betas=betas, eps=eps)")},
    "library_2": {"adam_step": by_optimizer("torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=0.0)")},
    "library_3": {"adam_step": "from torch.optim.adam import adam as library_adam\n" + answer(ADAM, """
w, m, v = w.clone(), m.clone(), v.clone()
library_adam([w], [g], [m], [v], [], [torch.tensor(float(t - 1))], foreach=False, amsgrad=False, has_complex=False,
             beta1=betas[0], beta2=betas[1], lr=lr, weight_decay=0.0, eps=eps, maximize=False)
return w, m, v
""")},
}
REFUSED = {"library_1": "Adam.step", "library_2": "AdamW.step", "library_3": "torch.optim._functional.adam"}


@pytest.mark.slow
def test_chapter_06_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, {**WRONG, **LIBRARY}, env=GRADING_ENV)
    for student, name in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, {"test_adam_step": name})
