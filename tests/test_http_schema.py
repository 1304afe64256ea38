"""Property-based requests over the OpenAPI schema (schemathesis): no input may produce a
server error. Runs the real app over the real core with the fake embedder."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from server.httpapi.app import create_app
from server.settings import Settings
from tests.test_http_api import build_fake_assistant

API_KEY = "k3y"


@pytest.fixture(scope="module", params=[None, API_KEY], ids=["open", "with-api-key"])
def app(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[FastAPI]:
    core = build_fake_assistant(tmp_path_factory.mktemp("schema"))
    settings = Settings.of(store=Path("unused"), rate_limit_per_minute=0, api_key=request.param)
    application = create_app(settings, assistant_factory=lambda: core)
    with TestClient(application):  # runs the lifespan, which loads the assistant
        application.state.runtime.wait(10)
        yield application


def test_no_request_makes_a_server_error(app: FastAPI) -> None:
    """Every operation, many generated requests each (schemathesis strategies driven by
    hypothesis directly: schemathesis's own pytest plugin does not load under pytest 9)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "POST /chat",
        "POST /chat/stream",
        "GET /search",
        "POST /v1/chat/completions",
    }
    for operation in operations:
        check_operation(operation, schemathesis.GenerationMode.POSITIVE)
        if operation.body or operation.query:  # what has no input has no invalid input
            check_operation(operation, schemathesis.GenerationMode.NEGATIVE)


def check_operation(operation: Any, mode: schemathesis.GenerationMode) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def no_server_error(case: schemathesis.Case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {API_KEY}"})
        assert response.status_code < 500, f"{operation.label}: {response.text}"
        if response.status_code >= 400:
            assert isinstance(response.json()["detail"], str)

    no_server_error()
