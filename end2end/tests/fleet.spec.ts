import { test, expect } from "@playwright/test";

test("the fleet page lists the demo projects with their state", async ({ page }) => {
  await page.goto("/");
  const cards = page.locator("article.card");
  await expect(cards).toHaveCount(6);
  // Every card ends up with a real state once the poller has been round.
  await expect(page.locator('.badge[data-health="checking"]')).toHaveCount(0, { timeout: 15_000 });
  await page.reload();
  await expect(page.locator('.badge[data-health="connected"]').first()).toBeVisible();
  await expect(page.getByRole("list", { name: "Projects per state" })).toContainText("Connected");
});

test("after hydration a refresh click calls the server and updates the card", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const card = page.locator("article.card").first();
  const button = card.getByRole("button", { name: "Refresh" });
  await expect(button).toBeEnabled();
  await button.click();
  await expect(card.locator(".card__feedback")).toContainText(/Refreshed: \w+|next refresh possible in \d+ s/);
  // The page itself did not navigate: this was the hydrated app talking to a server function.
  await expect(page).toHaveURL(/\/$/);
});
