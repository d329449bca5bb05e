"""The output budget: output messages counted, dropped past the limit, the kernel stopped once (quick: real
zmq sockets and jupyter_client sessions in this process, no kernel)."""
from __future__ import annotations

import asyncio
import json

import pytest
import zmq
import zmq.asyncio
from jupyter_client.session import Session

from autograde.sandbox.manager import SandboxKernelManager
from autograde.sandbox.output_budget import GuardedIOPubChannel, OutputBudget

TEXT = {"name": "stdout", "text": "x" * 100}
SIZE = len(json.dumps(TEXT))  # what one such stream message costs


def message(msg_type: str, content: dict | None = None) -> dict:
    return {"msg_type": msg_type, "content": TEXT if content is None else content}


@pytest.mark.parametrize("limit, messages, admitted, stops", [
    (10 * SIZE, ["stream"] * 3, [True] * 3, []),
    (2 * SIZE, ["stream"] * 3, [True, True, False], [f"output limit of {2 * SIZE} bytes exceeded"]),
    (2 * SIZE, ["stream"] * 5, [True, True, False, False, False], [f"output limit of {2 * SIZE} bytes exceeded"]),
    (SIZE, ["status", "execute_input", "stream", "status", "stream", "status"], [True, True, True, True, False, True],
     [f"output limit of {SIZE} bytes exceeded"]),  # only output counts; the rest always passes
    (SIZE - 1, ["display_data"], [False], [f"output limit of {SIZE - 1} bytes exceeded"]),
    (2 * SIZE, ["error", "execute_result", "update_display_data"], [True, True, False],
     [f"output limit of {2 * SIZE} bytes exceeded"]),
])
def test_output_past_the_budget_is_dropped_and_stops_the_kernel_once(limit, messages, admitted, stops):
    reasons: list[str] = []
    budget = OutputBudget(limit, reasons.append)
    assert [budget.admit(message(kind)) for kind in messages] == admitted
    assert reasons == stops


def test_a_message_without_content_costs_little():
    budget = OutputBudget(10, lambda reason: None)
    assert budget.admit({"msg_type": "stream"}) and budget.used == len("{}")


def test_the_iopub_channel_drops_what_the_budget_refuses():
    async def scenario() -> tuple[list[str], list[str]]:
        context = zmq.asyncio.Context()
        kernel, ours = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
        kernel.bind("inproc://iopub")
        ours.connect("inproc://iopub")
        session = Session(key=b"secret")
        reasons: list[str] = []
        channel = GuardedIOPubChannel(ours, session)
        channel.budget = OutputBudget(2 * SIZE, reasons.append)
        for kind in ["stream", "stream", "stream", "stream", "status"]:
            session.send(kernel, kind, TEXT if kind == "stream" else {"execution_state": "idle"})
        received = [(await channel.get_msg(timeout=5))["msg_type"] for _ in range(3)]
        channel.close()
        kernel.close(linger=0)
        context.term()
        return received, reasons
    received, reasons = asyncio.run(scenario())
    assert received == ["stream", "stream", "status"]  # the two over the budget never reach nbclient
    assert reasons == [f"output limit of {2 * SIZE} bytes exceeded"]


@pytest.mark.parametrize("output_bytes", [1000, 64 << 20])
def test_the_sandbox_client_carries_its_managers_budget(output_bytes):
    manager = SandboxKernelManager(output_bytes=output_bytes)
    client = manager.client()
    try:
        assert client.context.getsockopt(zmq.MAXMSGSIZE) == 4 * output_bytes + (16 << 20)
        assert client.iopub_channel.budget is manager.output_budget
        assert manager.output_budget.limit == output_bytes
    finally:
        client.stop_channels()
        client.context.term()
