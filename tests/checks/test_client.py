"""SharedClient: one httpx client per event loop, shared by checks, closed with the runner."""

from __future__ import annotations

import asyncio

import httpx
from fresh_loop import run_fresh
from loopback_http import HttpServer

from toolkit import IntegrationRegistry, IntegrationRunner
from toolkit.integrations import HttpCheck, SharedClient


class TestSharedClient:
    async def test_checks_share_one_client_per_loop(self, http_server: HttpServer) -> None:
        holder = SharedClient()
        checks = [HttpCheck(f"c{i}", http_server.url_for("/ok"), client=holder) for i in range(3)]
        try:
            await asyncio.gather(*(check.fetch() for check in checks))
            assert holder.open_clients == 1
        finally:
            await holder.aclose()

    def test_each_loop_gets_its_own_client(self, http_server: HttpServer) -> None:
        holder = SharedClient()
        check = HttpCheck("api", http_server.url_for("/ok"), client=holder)

        async def once() -> httpx.AsyncClient:
            await check.fetch()
            client = holder.get()
            await holder.aclose()
            return client

        first, second = run_fresh(once()), run_fresh(once())
        assert first is not second and first.is_closed and second.is_closed

    def test_tls_settings_get_separate_clients(self) -> None:
        holder = SharedClient()

        async def both() -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
            pair = holder.get(True), holder.get(False)
            await holder.aclose()
            return pair

        verified, unverified = run_fresh(both())
        assert verified is not unverified

    async def test_runner_aclose_closes_the_client(self, http_server: HttpServer) -> None:
        holder = SharedClient()
        registry = IntegrationRegistry()
        registry.register(HttpCheck("api", http_server.url_for("/ok"), client=holder))
        async with IntegrationRunner(registry, timeout=5) as runner:
            await runner.run_all()
            assert holder.open_clients == 1
        assert holder.open_clients == 0

    def test_runner_close_closes_the_client_of_its_sync_loop(self, http_server: HttpServer) -> None:
        holder = SharedClient()
        registry = IntegrationRegistry()
        registry.register(HttpCheck("api", http_server.url_for("/ok"), client=holder))
        runner = IntegrationRunner(registry, timeout=5)
        assert runner.run_all_sync().sections[0].success
        assert holder.open_clients == 1
        runner.close()
        assert holder.open_clients == 0

    async def test_closing_one_runner_leaves_another_runners_requests_alone(
        self, http_server: HttpServer
    ) -> None:
        holder = SharedClient()
        registry = IntegrationRegistry()
        registry.register(HttpCheck("slow", http_server.url_for("/slow/0.3"), client=holder))
        first = IntegrationRunner(registry, timeout=5)
        second = IntegrationRunner(registry, timeout=5)
        await first.run_all()
        running = asyncio.ensure_future(second.run_all())
        await asyncio.sleep(0.1)  # the second runner's request is on the wire
        await first.aclose()
        results = await running
        assert results.sections[0].success, results.sections[0].error_message
        assert holder.open_clients == 1  # the second runner's own client
        await second.aclose()
        assert holder.open_clients == 0

    async def test_a_closed_client_is_reopened_on_next_use(self, http_server: HttpServer) -> None:
        holder = SharedClient()
        check = HttpCheck("api", http_server.url_for("/ok"), client=holder)
        try:
            await check.fetch()
            await check.aclose()
            assert holder.open_clients == 0
            assert (await check.fetch()).success and holder.open_clients == 1
        finally:
            await holder.aclose()

    async def test_a_client_passed_in_is_used_and_left_open(self, http_server: HttpServer) -> None:
        async with httpx.AsyncClient() as own:
            check = HttpCheck("api", http_server.url_for("/ok"), client=own)
            assert (await check.fetch()).success
            await check.aclose()
            assert not own.is_closed


def test_building_a_check_prepares_tls_before_any_run() -> None:
    from toolkit._checks.client import ssl_context
    from toolkit.integrations import HttpCheck

    ssl_context.cache_clear()
    HttpCheck("warm", "https://127.0.0.1:9/health")
    assert ssl_context.cache_info().currsize == 1  # loaded at build time, not in the first run
