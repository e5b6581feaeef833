"""atheris target: peek_header and peek_version; both twins must agree.

Run: `python fuzz/fuzz_peek_header.py -max_total_time=60 fuzz/corpus/peek_header` (or `fuzz/run.sh`).
"""

from _target import main

if __name__ == "__main__":
    main("peek_header")
