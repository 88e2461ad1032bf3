/** Error raised when a test server cannot be started, probed or stopped. */
export class TestbedError extends Error {
  /** Stable machine-readable code, e.g. `TESTBED_NOT_INSTALLED`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestbedError';
    this.code = code;
  }
}
