import { test, expect } from "./fixtures";
import { signIn } from "./helpers";

// The fleet page without a mouse: Tab to a card's commands, open them with Enter, arm and
// confirm a command with Enter, and hear the result. (Clear queue on Acme Support, whose
// queue is empty in the demo: nothing another test counts on changes.)
test("a command runs from the keyboard alone", async ({ page }) => {
  await signIn(page);
  const where = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      const card = el?.closest("article.card");
      return {
        text: (el?.textContent ?? "").trim(),
        tag: el?.tagName ?? "",
        card: card?.querySelector("h2")?.textContent?.trim() ?? "",
      };
    });
  const tabTo = async (wanted: (f: { text: string; tag: string; card: string }) => boolean, what: string) => {
    for (let i = 0; i < 250; i++) {
      await page.keyboard.press("Tab");
      if (wanted(await where())) return;
    }
    throw new Error(`Tab never reached ${what}`);
  };
  await tabTo((f) => f.card === "Acme Support" && f.tag === "SUMMARY", "Acme Support's commands");
  await page.keyboard.press("Enter");
  await tabTo((f) => f.card === "Acme Support" && f.tag === "BUTTON" && f.text === "Clear queue", "Clear queue");
  await page.keyboard.press("Enter");
  await expect.poll(async () => (await where()).text).toBe("Confirm: Clear queue?");
  await page.keyboard.press("Enter");
  await expect(page.locator(".toast--success")).toContainText("Clear queue sent to Acme Support");
});

// The view controls without a mouse: the list layout, a state filter and the theme button
// are each reached with Tab and worked with Enter or Space; the page says what changed.
test("layout, filter and theme work from the keyboard alone", async ({ page }) => {
  await signIn(page);
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return {
        text: (el?.textContent ?? "").trim(),
        label: el?.getAttribute("aria-label") ?? "",
        group: el?.closest('[role="group"]')?.getAttribute("aria-label") ?? "",
      };
    });
  const tabTo = async (wanted: (f: { text: string; label: string; group: string }) => boolean, what: string) => {
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press("Tab");
      if (wanted(await focused())) return;
    }
    throw new Error(`Tab never reached ${what}`);
  };

  await tabTo((f) => f.group === "Layout" && f.text === "List", "the List layout");
  await page.keyboard.press("Enter");
  await expect(page.locator(".grid")).toHaveClass(/grid--list/);
  await expect(page).toHaveURL(/layout=list/);

  await tabTo((f) => f.group === "Filter by state" && /Unpaired/.test(f.text), "the Unpaired filter");
  await page.keyboard.press("Space");
  await expect(page.getByRole("button", { name: /Unpaired/ }).first()).toHaveAttribute("aria-pressed", "true");
  await expect(page.locator('.grid .badge:not([data-health="unpaired"])')).toHaveCount(0);

  // Back to the default view, still by keyboard: Shift+Tab to "All".
  for (let i = 0; i < 20 && !/All/.test((await focused()).text); i++) await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Enter");
  await expect(page).not.toHaveURL(/state=/);

  // The theme button is a plain form: Enter posts it and the server renders the new theme.
  await page.keyboard.press("Shift+Tab");
  for (let i = 0; i < 60 && !/^Theme:/.test((await focused()).label); i++) await page.keyboard.press("Shift+Tab");
  expect((await focused()).label).toMatch(/^Theme: system/);
  await page.keyboard.press("Enter");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  // Leave the theme as other tests expect it: system.
  await page.getByRole("button", { name: /Theme: dark/ }).press("Enter");
  await page.getByRole("button", { name: /Theme: light/ }).press("Enter");
  await expect(page.locator("html")).not.toHaveAttribute("data-theme", /./);
  // And the layout, which the URL holds (no cookie): a fresh visit is cards again.
  await page.goto("/");
  await expect(page.locator(".grid")).not.toHaveClass(/grid--list/);
});
