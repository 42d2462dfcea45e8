"""The pytorch flavor (skipped without torch), both directions with mlflow.pytorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trackflow.pyfunc  # noqa: E402
import trackflow.pytorch  # noqa: E402
from trackflow.errors import InvalidInput  # noqa: E402


class TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x):  # noqa: ANN001, ANN201
        return torch.softmax(self.linear(x), dim=1)


@pytest.fixture
def net() -> TinyNet:
    torch.manual_seed(0)
    return TinyNet()


def test_save_load_and_signature(tmp_path: Path, net: TinyNet) -> None:
    x = np.random.default_rng(0).random((5, 4)).astype(np.float32)
    trackflow.pytorch.save_model(net, tmp_path / "m", input_example=x[:2])
    loaded = trackflow.pyfunc.load_model(tmp_path / "m")
    expected = net(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(loaded.predict(x), expected, rtol=1e-6)
    np.testing.assert_allclose(loaded.predict(x.tolist()), expected, rtol=1e-6)
    inputs = loaded.metadata.signature.inputs
    assert inputs.is_tensor and inputs.specs[0].shape == (-1, 4) and inputs.specs[0].dtype == "float32"
    with pytest.raises(InvalidInput, match="shape"):
        loaded.predict(np.zeros((2, 5), dtype=np.float32))
    module = trackflow.pytorch.load_model(str(tmp_path / "m"))
    assert isinstance(module, torch.nn.Module)


def test_mlflow_interop(tmp_path: Path, net: TinyNet, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow_pytorch = pytest.importorskip("mlflow.pytorch")
    import mlflow.pyfunc

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    x = np.random.default_rng(1).random((3, 4)).astype(np.float32)
    expected = net(torch.as_tensor(x)).detach().numpy()
    trackflow.pytorch.save_model(net, tmp_path / "ours", input_example=x)
    np.testing.assert_allclose(mlflow.pyfunc.load_model(str(tmp_path / "ours")).predict(x), expected, rtol=1e-6)
    mlflow_pytorch.save_model(net, str(tmp_path / "theirs"), serialization_format="pickle")
    np.testing.assert_allclose(trackflow.pyfunc.load_model(tmp_path / "theirs").predict(x), expected, rtol=1e-6)


def test_served_over_http(tmp_path: Path, net: TinyNet) -> None:
    import threading
    import time

    import requests
    import uvicorn

    from trackflow.models.pyfunc import load_local
    from trackflow.serving.app import create_scoring_app

    x = np.random.default_rng(2).random((2, 4)).astype(np.float32)
    trackflow.pytorch.save_model(net, tmp_path / "m", input_example=x)
    server = uvicorn.Server(uvicorn.Config(create_scoring_app(load_local(tmp_path / "m")), port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        response = requests.post(f"http://127.0.0.1:{port}/invocations", json={"inputs": x.tolist()}, timeout=10)
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(response.json()["predictions"], net(torch.as_tensor(x)).detach().numpy(), rtol=1e-5)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
