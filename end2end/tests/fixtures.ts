import { test as base, expect } from "@playwright/test";

/**
 * Every test runs under the server's Content-Security-Policy: this context fixture collects
 * what the browser refused (CSP violations are console errors in Chromium) and fails the test
 * if anything was, so a script the policy blocks cannot go unnoticed.
 */
export const test = base.extend({
  context: async ({ context }, use) => {
    const refused: string[] = [];
    context.on("console", (message) => {
      if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
        refused.push(message.text());
      }
    });
    await use(context);
    expect(refused, "the browser refused something under the CSP").toEqual([]);
  },
});

export { expect };
