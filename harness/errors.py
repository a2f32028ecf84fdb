"""The two kinds of failure the CLI maps to exit codes (README, "Exit codes")."""

EXIT_OK = 0
EXIT_BENCHMARK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class HarnessError(Exception):
    """Bad input or environment: one line for the user, exit 2, nothing run."""

    exit_code = EXIT_BAD_INPUT


class TrialError(Exception):
    """One trial went wrong (crash, hang, garbage, wrong checksum); the run goes on."""
