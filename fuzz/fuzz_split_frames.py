"""atheris target: split_frames (zero-copy batch split); both twins must agree.

Run: `python fuzz/fuzz_split_frames.py -max_total_time=60 fuzz/corpus/split_frames` (or `fuzz/run.sh`).
"""

from _target import main

if __name__ == "__main__":
    main("split_frames")
