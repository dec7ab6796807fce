"""Fixtures for multi-process and fault tests: real servers as subprocesses."""

import httpx
import pytest

from ..server.conftest import API_KEY, data_dir, tiff_pair_body  # noqa: F401 - fixture

AUTH = {"Authorization": f"Apikey {API_KEY}"}


def client(url: str, timeout: float = 10) -> httpx.Client:
    return httpx.Client(base_url=f"{url}/api/v1", headers=AUTH, timeout=timeout)


@pytest.fixture
def pair_body(data_dir):  # noqa: F811
    return tiff_pair_body(data_dir)
