"""atheris target: check_depth and check_envelope (the nesting-depth scan) at several bounds; both twins must agree.

Run: `python fuzz/fuzz_nesting.py -max_total_time=60 fuzz/corpus/nesting` (or `fuzz/run.sh`).
"""

from _target import main

if __name__ == "__main__":
    main("nesting")
