"""``python -m reelscope``: the same as the ``reelscope`` command."""

if __name__ == "__main__":  # a job's child process (multiprocessing spawn) imports this as __mp_main__
    from reelscope.entry import main

    raise SystemExit(main())
