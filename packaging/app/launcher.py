"""The frozen app's entry point: with no arguments it opens the window; otherwise it is the
``reelscope`` command (``Reelscope gui --library L --screenshot F.png``, ``Reelscope info``…).
The training child runs as ``Reelscope -m reelscope.training RUN_DIR`` in the frozen app."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the import's worker processes re-enter here
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":  # python -m MODULE ... inside the frozen app
        import runpy

        module, sys.argv = sys.argv[2], [sys.argv[2]] + sys.argv[3:]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        sys.exit(0)
    from reelscope.entry import main

    sys.exit(main(sys.argv[1:] or ["gui"]))
