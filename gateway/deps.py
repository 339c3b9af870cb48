"""How routes reach the gateway's shared resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.jobs import Gateway


# async, as every dependency here: FastAPI runs a plain function on a worker thread, a thread
# hop for each request.
async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.state.gateway  # the app's lifespan state
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
