import { defineConfig } from "@playwright/test";

// The server under test: the debug build from `cargo leptos build --split --project picky-fleet` (or PICKY_FLEET_BIN, e.g.
// target/release/picky-fleet after `... --release ...`), run from the workspace
// root (its site root `target/site` is relative) with a fresh database and its built-in
// simulator on a fixed port, so tests can switch faults on.
export const BASE_URL = "http://127.0.0.1:3100";
export const SIM_URL = "http://127.0.0.1:3110";
export const ADMIN_PASSWORD = "e2e-admin-password";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: BASE_URL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
  webServer: {
    command: `rm -rf target/e2e && exec ${process.env.PICKY_FLEET_BIN ?? "target/debug/picky-fleet"}`,
    cwd: "..",
    url: `${BASE_URL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PICKY_FLEET_ADDR: "127.0.0.1:3100",
      PICKY_FLEET_SIM_ADDR: "127.0.0.1:3110",
      PICKY_FLEET_DATABASE_URL: "sqlite:target/e2e/picky-fleet.db",
      PICKY_FLEET_DEMO_ADMIN_PASSWORD: "e2e-admin-password",
      // Tests refresh cards and read what the verification check after a command finds; a
      // poller every 30 s would spend the 3 checks a minute those need.
      PICKY_FLEET_POLL_INTERVAL_SECS: "600",
      // Every test signs in from 127.0.0.1 within seconds: lift the sign-in rate limits.
      PICKY_FLEET_SIGN_IN_PER_USER_PER_MINUTE: "1000",
      PICKY_FLEET_SIGN_IN_PER_CLIENT_PER_MINUTE: "1000",
      RUST_LOG: "info",
    },
  },
});
