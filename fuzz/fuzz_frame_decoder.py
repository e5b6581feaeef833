"""atheris target: FrameDecoder.feed/close on a stream cut at fuzzer-chosen points, checked against split_frames; both twins must agree.

Run: `python fuzz/fuzz_frame_decoder.py -max_total_time=60 fuzz/corpus/frame_decoder` (or `fuzz/run.sh`).
"""

from _target import main

if __name__ == "__main__":
    main("frame_decoder")
