"""The load generators' side: the benchmark proposal and a tiny keep-alive HTTP/1.1 client.

The client speaks raw HTTP/1.1 on asyncio streams: far cheaper on the CPU than httpx, so the load
generator steals less from the server on this 2-core machine. It only ever targets 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import contextlib
import socket

# The body every benchmark POSTs to /api/v1/proposals (also read in-process by the governance timings).
PROPOSAL = {
    "action": "deploy.rollback",
    "resource": "service:payments",
    "args": {"service": "payments", "to_version": "2026.11.3"},
    "summary": "Roll back payments to 2026.11.3",
    "reasoning": "Error rate rose from 0.1% to 4% after the last deploy.",
    "risk": "high",
    "confidence": 0.82,
    "cost_usd": "0.40",
    "classification": "internal",
    "related_tasks": ["INC-1042"],
}


def http_get_status(port: int, path: str) -> tuple[int, bytes]:
    """One ``GET path`` on 127.0.0.1:port with ``Connection: close``: (status, raw response)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


class Conn:
    """One keep-alive HTTP/1.1 connection (asyncio streams). Far cheaper per request than httpx."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def close(self):
        if self.writer:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    def encode(self, method: str, path: str, token: str | None = None, body: bytes | None = None,
               headers: dict | None = None) -> bytes:
        h = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json"]
        if token:
            h.append(f"Authorization: Bearer {token}")
        for k, v in (headers or {}).items():
            h.append(f"{k}: {v}")
        if body is not None:
            h += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(h) + "\r\n\r\n").encode() + (body or b"")

    async def send_raw(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        close = b"connection: close" in lower
        if b"transfer-encoding: chunked" in lower:
            body = b""
            while True:
                size = int((await self.reader.readline()).strip().split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            i = lower.find(b"content-length:")
            n = int(lower[i + 15:lower.find(b"\r\n", i)]) if i >= 0 else 0
            body = await self.reader.readexactly(n) if n else b""
        if close:
            await self.close()
            self.writer = None
        return status, body

    async def request(self, method, path, token=None, body=None, headers=None) -> tuple[int, bytes]:
        return await self.send_raw(self.encode(method, path, token, body, headers))
