import { defineConfig } from "vitest/config";

// Two projects: fast unit tests, and end-to-end tests that run the notebooks in the real tslab
// kernel and open the exports in headless Chromium (minutes, run one file at a time).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**", "**/node_modules/**"],
          // The validation cache goes to a fresh temporary folder per test file, never the user's.
          setupFiles: ["test/setup.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 20 * 60_000,
          hookTimeout: 30 * 60_000,
          fileParallelism: false,
          setupFiles: ["test/setup.ts"],
        },
      },
    ],
  },
});
