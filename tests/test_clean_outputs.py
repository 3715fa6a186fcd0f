"""Saved notebook outputs without third-party noise (helpers.tools.clean_outputs)."""

from __future__ import annotations

from helpers.tools.clean_outputs import clean_outputs, clean_text


def test_noise_lines_and_escape_codes_go_and_the_cells_own_lines_stay() -> None:
    text = (
        "\x1b[?25lNo CUDA runtime is found, using CUDA_HOME='/usr/local'\n"
        "INFO:nncf:Statistics of the bitwidth distribution:\n"
        "┍━━━━┯━━━━┑\n│  8 │ 100% (170 / 170) │\n┕━━━━┷━━━━┙\n"
        "Applying Weight Compression ━━━━━━━ 100% 170/170 • 0:00:05\n"
        "\n\n"
        "index with ov-int8-static: 611 vectors, built in 7.0 s\x1b[?25h\n"
        "2026-12-02 02:11:00 [INFO] Start to extarct onnx model ops...\n"
        "answer: 100% of the tests pass\n"
    )
    kept = "index with ov-int8-static: 611 vectors, built in 7.0 s\nanswer: 100% of the tests pass\n"
    assert clean_text(text) == kept


def test_empty_streams_widgets_and_progress_displays_are_dropped_results_kept() -> None:
    outputs = [
        {"output_type": "stream", "name": "stderr", "text": "\x1b[?25l\n\n\x1b[?25h"},
        {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {}}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/plain": "", "text/html": "<pre>━━━━ 50%</pre>"}, "metadata": {}},
        {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}, "metadata": {}},
        {"output_type": "execute_result", "data": {"text/plain": "   a\n0  1"}, "metadata": {}, "execution_count": 3},
        {"output_type": "stream", "name": "stdout", "text": "Compiling the model to CPU ...\nQ: why?\n"},
    ]
    kept = clean_outputs(outputs)
    assert [o["output_type"] for o in kept] == ["display_data", "execute_result", "stream"]
    assert kept[-1]["text"] == "Q: why?\n"


def test_text_without_noise_is_kept_as_printed() -> None:
    # nbval compares a cell's fresh output with the saved one: cleaning must not trim what the cell printed
    text = "{'use_double_quant': True}\n  -> use_double_quant: allowed fp32, bf16\n\n"
    assert clean_text(text) == text


def test_optimum_export_chatter_goes() -> None:
    text = (
        "Using framework PyTorch: 2.1.2+cu121\nOverriding 1 configuration item(s)\n\t- use_cache -> True\n"
        "Configuration saved in .cache/ov/.optimum-intel-asked-nf4.tmp-zn0useib/openvino_config.json\n"
    )
    assert clean_text(text) == ""


def test_rich_warning_wrapped_over_two_lines_goes_and_kept_displays_lose_the_repo_path() -> None:
    from helpers.core.settings import REPO_ROOT

    wrapped = (
        f'{REPO_ROOT}/.venv/lib/python3.11/site-packages/rich/live.py:260: UserWarning: install "ipywidgets" for '
        "Jupyter \nsupport\n  warnings.warn('install \"ipywidgets\" for Jupyter support')\n"
    )
    data = {"text/plain": wrapped, "text/html": f"<pre>{wrapped}</pre>"}
    shown = {"output_type": "display_data", "metadata": {}, "data": data}
    table = {"output_type": "display_data", "metadata": {}, "data": {"text/plain": [f"saved in {REPO_ROOT}/build/x\n"]}}
    kept = clean_outputs([shown, table])
    assert kept == [table] and kept[0]["data"]["text/plain"] == ["saved in build/x\n"]
