"""What the text states about the gradient check (checked over seeds by benchmarks/chapter_claims.py): the
chapter's own reference ``numerical_gradient`` (run from the notebook's answer cell) against autograd on
``wiggly``, at the notebook's point (seed 0) and at points drawn from a standard normal (other seeds)."""
from pathlib import Path

import nbformat
import torch

NOTEBOOK = Path(__file__).with_name("02-autograd.ipynb")


def chapter_code() -> dict:
    """The names defined by the notebook's reference ``numerical_gradient`` and its ``wiggly`` cell."""
    namespace = {"torch": torch}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code" and (cell.metadata.get("nbgrader", {}).get("grade_id") == "numerical_gradient"
                                         or cell.source.startswith("def wiggly")):
            source = cell.source.split("\npoint = ")[0]  # the wiggly cell's definition only
            exec(compile(source, str(NOTEBOOK), "exec"), namespace)
    return namespace


def measure(seed: int) -> dict[str, float]:
    """The relative error between autograd's and the central difference's gradients of ``wiggly``."""
    code = chapter_code()
    point = torch.tensor([0.3, -1.1, 2.0, 0.8], dtype=torch.float64) if seed == 0 else \
        torch.randn(4, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    point.requires_grad_(True)
    code["wiggly"](point).backward()
    estimate = code["numerical_gradient"](code["wiggly"], point)
    error = (point.grad - estimate).norm() / (point.grad.norm() + estimate.norm())
    return {"relative error": error.item()}


CLAIMS = [
    {"where": "text before the wiggly cell", "claim": "the relative error is around 1e-8 or smaller",
     "values": ["relative error"], "holds": lambda m: m["relative error"] < 3e-8},
]
