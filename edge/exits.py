"""Exit codes of every digitedge command, defined once (sysexits' EX_IOERR where it fits).

0 success; 1 some inputs failed, or a model failed its verification gate; 2 usage or bad
input (an unusable model, a missing file); 3 a needed package is not installed; 74 the
output could not be written; 130 interrupted (the shell's 128 + SIGINT).
"""

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_MISSING = 3
EXIT_OUTPUT = 74
EXIT_INTERRUPTED = 130

SUMMARY = (
    "exit codes: 0 ok, 1 some inputs failed (or a verification gate), 2 usage or bad input, "
    "3 missing package, 74 output not writable, 130 interrupted"
)
