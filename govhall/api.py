"""The public HTTP API, version 1: each app contributes its router."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="govhall API",
    version="1.0.0",
    description="一体化在线政务服务平台开放接口 (integrated online government services platform)",
    urls_namespace="api-v1",
)
