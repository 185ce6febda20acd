"""Who is calling: the desk's key from `Authorization: Bearer`, its rate, and the brands it may serve."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag import ApiKey
from rag.api.errors import ApiError

bearer = HTTPBearer(auto_error=False, description="The desk's API key (`huashu keys create`).")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def desk_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> ApiKey:
    """Return the caller's live key; 401 without one, 429 past its rate."""
    services = request.app.state.services
    if credentials is None:
        raise ApiError(401, headers=CHALLENGE)
    key = services.keys().verify(credentials.credentials)
    if key is None:
        raise ApiError(
            401,
            "API 密钥无效或已被吊销：请向管理员要一个新密钥（huashu keys create）。",
            headers=CHALLENGE,
        )
    wait = services.limiter.take(key.id, key.rate_per_minute)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"这个密钥的请求太频繁了：请 {seconds} 秒后再试。",
            headers={"Retry-After": str(seconds)},
        )
    return key


def allow(key: ApiKey, brand: str) -> None:
    """Refuse (403) a brand the key was not issued for."""
    if not key.allows(brand):
        raise ApiError(
            403,
            f"这个密钥（坐席 {key.desk}）不能访问品牌 {brand!r}，只能访问：{', '.join(key.brands)}。"
            "需要别的品牌请向管理员申请新密钥。",
        )


Desk = Annotated[ApiKey, Depends(desk_key)]  # a route's caller: its live, in-rate key
