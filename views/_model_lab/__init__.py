"""The Model lab's tabs, one module per tab; ``views/model_lab.py`` is the page that lays them out.

Each tab module has ``render(lab)``, where ``lab`` is the :class:`~views._model_lab.common.Lab`
(the signed-in user, the workspace, the registry's models and the model picker shared by the
tabs). Shared layout helpers live in :mod:`views._model_lab.common`.
"""
