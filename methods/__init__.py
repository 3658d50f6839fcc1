"""The built-in method plugins of vsbench (installed as ``vsbench_methods``).

Each method is a small package whose ``__init__`` only declares the plugin (name, description,
reference, hyperparameters, presets) and whose model code is imported when the method is built,
so that listing methods stays fast. They register through the ``vsbench`` entry points in
``pyproject.toml``, exactly as a third-party plugin would.
"""
