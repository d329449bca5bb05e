"""Chapter 2 (linear algebra and autograd): course check (solution, student version, mutants), then real nbgrader
autograde of wrong answers."""
import pytest

from tests.support.chapter_grading import answer, grade_chapter

ASSIGNMENT = "02-autograd"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "normalize_rows": "test_normalize_rows",
    "cosine_similarity_matrix": "test_cosine_similarity_matrix",
    "elementwise_derivative": "test_elementwise_derivative",
    "straight_through_round": "test_straight_through_round",
    "numerical_gradient": "test_numerical_gradient",
}
NORMALIZE = "normalize_rows(X)"
COSINE = "cosine_similarity_matrix(A, B)"
DERIVATIVE = "elementwise_derivative(f, x)"
ROUND = "straight_through_round(x)"
NUMERICAL = "numerical_gradient(f, x, h=1e-5)"


def numerical(difference: str, restore: bool = True) -> str:
    """A numerical_gradient answer with the given difference quotient (a wrong one in these tests)."""
    return answer(NUMERICAL, f"""
x = x.detach().to(torch.float64).clone()
flat = x.view(-1)
gradient = torch.zeros_like(flat)
f_x = float(f(x))
for i in range(flat.numel()):
    original = flat[i].item()
    flat[i] = original + h
    f_plus = float(f(x))
    flat[i] = original - h
    f_minus = float(f(x))
    {'flat[i] = original' if restore else 'pass'}
    gradient[i] = {difference}
return gradient.view(x.shape)
""")


# Plausible mistakes; each submission leaves some tasks right, to show that only the broken task loses points.
WRONG = {
    "wrong_a": {
        "normalize_rows": answer(NORMALIZE, "return X / X.sum(dim=0, keepdim=True)"),
        "elementwise_derivative": answer(DERIVATIVE, "x.requires_grad_(True)\nf(x).sum().backward()\nreturn x.grad"),
        "numerical_gradient": numerical("(f_plus - f_x) / h"),
    },
    "wrong_b": {
        "cosine_similarity_matrix": answer(COSINE, "return (A / torch.linalg.vector_norm(A, dim=1, keepdim=True)) @ B.T"),
        "straight_through_round": answer(ROUND, "return torch.round(x).detach()"),
        "numerical_gradient": numerical("(f_plus - f_minus) / h"),
    },
    "wrong_c": {
        "normalize_rows": answer(NORMALIZE, "return X / X.mean(dim=1, keepdim=True)"),
        "cosine_similarity_matrix": answer(COSINE, "A = A / torch.linalg.vector_norm(A, ord=1, dim=1, keepdim=True)\n"
                                                   "return A @ (B / torch.linalg.vector_norm(B, ord=1, dim=1, keepdim=True)).T"),
        "elementwise_derivative": answer(DERIVATIVE, "x = x.detach().clone().requires_grad_(True)\n"
                                                     "return torch.autograd.grad(f(x).mean(), x)[0]"),
        "straight_through_round": answer(ROUND, "return torch.round(x)"),
        "numerical_gradient": numerical("(f_plus - f_minus) / (2 * h)", restore=False),
    },
    # right except that clone() keeps the strides of a transposed input, so its view(-1) fails
    "wrong_d": {"numerical_gradient": numerical("(f_plus - f_minus) / (2 * h)")},
}


@pytest.mark.slow
def test_chapter_02_autograde(tmp_path):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, WRONG)
