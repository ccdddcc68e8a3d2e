"""Unpacking a deployment zip and importing it as Lambda would."""

import io
import os
import subprocess
import zipfile


def unpacked_imports(tmp_path, data, executable):
    """Import every module of the unpacked zip with ``python -v``, as Lambda would (nothing writes a .pyc).

    Returns (modules, the baked config bucket it printed, the -v trace).
    """
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    modules = sorted(n[:-3] for n in os.listdir(tmp_path / "edge_runtime") if n.endswith(".py") and n != "__init__.py")
    result = subprocess.run(
        [executable, "-v", "-c", f"import edge_runtime.settings as s, {', '.join('edge_runtime.' + m for m in modules)}; "
         "print(s.get_settings().config_bucket)"],
        cwd=tmp_path,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return ["__init__"] + modules, result.stdout.strip(), result.stderr


def loaded_from_pyc(folder, module, cache_tag):
    return f"code object from '{folder}/edge_runtime/__pycache__/{module}.{cache_tag}.pyc'"
