import { test, expect } from "./fixtures";
import { signIn } from "./helpers";

test("the view lives in the address bar: filter, sort and layout survive a reload", async ({ page }) => {
  await signIn(page);
  await expect(page.locator(".live")).toContainText("Live");
  await page.getByLabel("Sort by").selectOption("queue");
  await page.getByRole("group", { name: "Layout" }).getByRole("button", { name: "List" }).click();
  await page.getByRole("button", { name: /Timeout/ }).first().click();
  await expect(page).toHaveURL(/\?state=timeout&sort=queue&layout=list$/);
  await expect(page.locator(".grid")).toHaveClass(/grid--list/);

  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator(".grid")).toHaveClass(/grid--list/);
  await expect(page.getByLabel("Sort by")).toHaveValue("queue");
  await expect(page.getByRole("button", { name: /Timeout/ }).first()).toHaveAttribute("aria-pressed", "true");
  // Only Timeout cards (earlier tests may have put more than the demo's one there).
  await expect(page.locator('.grid .badge[data-health="timeout"]').first()).toBeVisible();
  await expect(page.locator('.grid .badge:not([data-health="timeout"])')).toHaveCount(0);

  // Back to the default view: the query string empties.
  await page.getByRole("button", { name: /All/ }).first().click();
  await page.getByLabel("Sort by").selectOption("name");
  await page.getByRole("group", { name: "Layout" }).getByRole("button", { name: "Cards" }).click();
  await expect(page).toHaveURL(/\/$/);
});

test("the theme button cycles system, dark, light and the server renders the choice", async ({ page }) => {
  await signIn(page);
  const html = page.locator("html");
  await expect(html).not.toHaveAttribute("data-theme", /./);
  await page.getByRole("button", { name: /Theme: system/ }).click();
  await expect(html).toHaveAttribute("data-theme", "dark");
  // Rendered by the server, so already right before any script: the body is dark.
  await expect(page.locator("body")).toHaveCSS("background-color", "rgb(13, 17, 23)");
  await page.getByRole("button", { name: /Theme: dark/ }).click();
  await expect(html).toHaveAttribute("data-theme", "light");
  await page.getByRole("button", { name: /Theme: light/ }).click();
  await expect(html).not.toHaveAttribute("data-theme", /./);
  // Still on the fleet page throughout.
  await expect(page.getByRole("heading", { name: /Fleet/ })).toBeVisible();
});

test("the browser's time zone is used for the times on the next page", async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL, timezoneId: "Asia/Kolkata" });
  const page = await context.newPage();
  await signIn(page);
  await page.goto("/audit");
  await expect(page.locator(".audit__time").first()).toContainText("IST");
  await context.close();
});
