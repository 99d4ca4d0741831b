"""A tool-calling agent loop, durable turn by turn.

A fake, deterministic "model" reads the conversation so far and either asks for tools or answers.
Each model call and each tool call is a checkpoint: after a crash the loop replays the recorded
replies and tool results and continues with the first call that has none. The tools of one turn
run concurrently with ``asyncio.gather`` (keyed by position, so replay does not depend on which
finished first), and the agent pauses durably between turns (AGENT_TURN_PAUSE seconds, default
0.2; above one second the run suspends and a worker resumes it when due).

    durablec run examples/agent/agent.py:travel_agent --args '["Lisbon"]'

Every tool call appends ``start NAME`` and ``end NAME`` to AGENT_LOG (default ``agent.log``),
and every model call ``model N`` (N messages so far).
Setting AGENT_HANG to a tool name makes that tool's call hang like a stuck network request, to
watch a run being killed mid-call and resumed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import durablec
from durablec import Retry, task

LOG = os.environ.get("AGENT_LOG", "agent.log")
HANG = os.environ.get("AGENT_HANG", "")
TURN_PAUSE = float(os.environ.get("AGENT_TURN_PAUSE", "0.2"))
MAX_TURNS = 6

Message = dict[str, Any]


def log(text: str) -> None:
    # Called only inside model and tool calls, which are checkpoints: replay does not repeat it.
    with open(LOG, "a") as out:  # durablec: allow[DC402]
        out.write(text + "\n")


TOOLS: dict[str, Callable[..., Awaitable[Any]]] = {}


def tool(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Register ``fn`` as a tool the model may call, logging each call's start and end."""

    async def traced(**arguments: Any) -> Any:
        log("start " + fn.__name__)
        if fn.__name__ == HANG:
            await asyncio.Event().wait()
        result = await fn(**arguments)
        log("end " + fn.__name__)
        return result

    TOOLS[fn.__name__] = traced
    return fn


@tool
async def search_flights(city: str) -> list[dict[str, Any]]:
    return [{"flight": "TP 1351", "to": city, "price": 180}, {"flight": "FR 7", "to": city, "price": 95}]


@tool
async def get_weather(city: str) -> str:
    return f"{city}: sunny, 24 C"


@tool
async def book_flight(flight: str, idempotency_key: str) -> dict[str, str]:
    # A real booking API would dedupe on the key, which stays the same if this call is repeated.
    return {"flight": flight, "confirmation": "BK " + idempotency_key}


async def call_tool(call: Message) -> Message:
    arguments = dict(call["arguments"])
    if call["name"] == "book_flight":
        arguments["idempotency_key"] = durablec.idempotency_key()
    result = await TOOLS[call["name"]](**arguments)
    return {"role": "tool", "name": call["name"], "content": result}


async def model(conversation: list[Message]) -> Message:
    """The fake model: picks the next tools from what the tools have said so far."""
    log(f"model {len(conversation)}")
    city = conversation[0]["content"]
    seen = {m["name"]: m["content"] for m in conversation if m["role"] == "tool"}
    if "search_flights" not in seen:
        calls = [{"name": "search_flights", "arguments": {"city": city}},
                 {"name": "get_weather", "arguments": {"city": city}}]
        return {"role": "assistant", "tool_calls": calls}
    if "book_flight" not in seen:
        cheapest = min(seen["search_flights"], key=lambda f: f["price"])
        return {"role": "assistant",
                "tool_calls": [{"name": "book_flight", "arguments": {"flight": cheapest["flight"]}}]}
    booking = seen["book_flight"]
    return {"role": "assistant", "tool_calls": [],
            "content": f"Booked {booking['flight']} to {city} ({booking['confirmation']}); "
                       f"weather {seen['get_weather']}"}


@task(id="travel-agent", retry=Retry.fixed(0.1, max_attempts=3))
async def travel_agent(city: str) -> dict[str, Any]:
    conversation: list[Message] = [{"role": "user", "content": city}]
    for turn in range(1, MAX_TURNS + 1):
        reply = await model(conversation)
        conversation.append(reply)
        if not reply["tool_calls"]:
            return {"answer": reply["content"], "turns": turn,
                    "tools": [m["name"] for m in conversation if m["role"] == "tool"]}
        conversation.extend(await asyncio.gather(*(call_tool(c) for c in reply["tool_calls"])))
        await durablec.sleep(TURN_PAUSE)
    raise RuntimeError(f"no answer after {MAX_TURNS} turns")
