"""Tasks written as the openai client's documentation shows them (tests/libraries/test_openai.py)."""

import asyncio
import json

from openai import AsyncOpenAI

import durablec
from durablec import Retry

TOOLS = [{"type": "function", "function": {
    "name": "lookup", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


async def lookup(city: str) -> str:
    await asyncio.sleep(0)
    return f"{city}: sunny"


@durablec.task(id="openai-plain", retry=Retry.fixed(0.1, max_attempts=3))
async def plain(base_url: str, prompt: str) -> str | None:
    client = AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    completion = await client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": prompt}])
    await client.close()
    return completion.choices[0].message.content


@durablec.task(id="openai-stream", retry=Retry.fixed(0.1, max_attempts=3))
async def streamed(base_url: str, prompt: str) -> str:
    client = AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    stream = await client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": prompt}], stream=True)
    text = ""
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    await client.close()
    return text


@durablec.task(id="openai-agent", retry=Retry.fixed(0.1, max_attempts=3))
async def agent(base_url: str, cities: list[str]) -> dict[str, object]:
    client = AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    messages: list[dict[str, object]] = [{"role": "user", "content": " ".join(cities)}]
    first = await client.chat.completions.create(model="local", messages=messages, tools=TOOLS)
    calls = first.choices[0].message.tool_calls or []
    results = await asyncio.gather(
        *(lookup(json.loads(call.function.arguments)["city"]) for call in calls))
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    for call, result in zip(calls, results):
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    answer = await client.chat.completions.create(model="local", messages=messages, tools=TOOLS)
    summary = ""
    stream = await client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "summary of " + " ".join(cities)}],
        stream=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            summary += chunk.choices[0].delta.content
    await client.close()
    return {"answer": answer.choices[0].message.content, "summary": summary}
