"""POST /slack/events: Slack's HTTP events, verified and dispatched by slack-bolt."""

from fastapi import APIRouter, Request, Response
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool


def slack_router(slack_app: App) -> APIRouter:
    router = APIRouter(tags=["slack"])

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        """Signature checked by slack-bolt (401 otherwise); acknowledged at once, answered
        after. dispatch blocks until the ack, so it runs off the event loop."""
        body = await request.body()
        response = await run_in_threadpool(slack_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    return router
