/** duckserve's version (also reported by `--version` and `{prefix}/health`). */
export const VERSION = "0.1.0";
