"""The output budget: how many bytes of output a sandboxed kernel may send before it is stopped.

Trusted code on the receiving end: the untrusted kernel sends whatever it likes; the kernel client
here (nbclient's, in the grading process) counts every output message on the iopub channel, drops
what is over the budget, and asks the kernel manager to stop the kernel. zmq refuses single messages
far beyond the budget before they cost memory.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel

from autograde.config import OUTPUT_BYTES

# Output messages that count against the output budget (status, execute_input... pass untouched).
OUTPUT_TYPES = {"stream", "display_data", "update_display_data", "execute_result", "error"}


class OutputBudget:
    """Counts output bytes arriving from the kernel; past ``limit`` it calls ``stop`` with the reason."""

    def __init__(self, limit: int, stop: Callable[[str], None]):
        self.limit = limit
        self.stop = stop
        self.used = 0

    def __repr__(self) -> str:
        return f"OutputBudget(used={self.used}, limit={self.limit})"

    def admit(self, msg: dict[str, Any]) -> bool:
        """Whether to pass ``msg`` on; output beyond the budget is dropped and stops the kernel."""
        if msg.get("msg_type") not in OUTPUT_TYPES:
            return True
        if self.used > self.limit:
            return False
        self.used += len(json.dumps(msg.get("content", {}), default=str))
        if self.used > self.limit:
            self.stop(f"output limit of {self.limit} bytes exceeded")
            return False
        return True


class GuardedIOPubChannel(AsyncZMQSocketChannel):
    """The iopub channel with an output budget in front of nbclient."""

    budget: OutputBudget | None = None

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        """The next message the budget admits (output over the budget is dropped)."""
        while True:
            msg = await super().get_msg(timeout=timeout)
            if self.budget is None or self.budget.admit(msg):
                return msg


class SandboxKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse huge messages and whose iopub channel counts output."""

    iopub_channel_class = GuardedIOPubChannel  # type: ignore[assignment]

    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        context = zmq.asyncio.Context()
        limit = getattr(self.parent, "output_bytes", OUTPUT_BYTES)
        # A single message far over the output budget is dropped by zmq before it costs us memory.
        context.setsockopt(zmq.MAXMSGSIZE, 4 * limit + (16 << 20))
        return context

    @property
    def iopub_channel(self) -> Any:
        """The iopub channel, guarded by the budget of the kernel our manager started."""
        channel = super().iopub_channel
        # The sandbox's kernel manager (our parent) holds the budget of the kernel it started.
        budget = getattr(self.parent, "output_budget", None)
        if isinstance(budget, OutputBudget) and channel.budget is None:
            channel.budget = budget
        return channel
