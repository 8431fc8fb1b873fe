import { test, expect } from "./fixtures";
import { card, signIn } from "./helpers";

const SIM_URL = "http://127.0.0.1:3110";

// A card carries its last 24 hours; its name opens the project's page, whose timeline says
// what happened. (Green Leaf Clinic, TIMEOUT in the demo fleet: no other test touches it, so
// its 3 checks a minute are free for the refresh.)
test("a card's strip and name lead to the project's history, which shows the drop", async ({ page, request }) => {
  test.setTimeout(75_000);
  await signIn(page);
  const c = card(page, "Green Leaf Clinic");
  await expect(c.locator(".strip__bar")).toHaveAttribute("aria-label", /^Last 24 hours, uptime /);
  const unpaired = await request.patch(`${SIM_URL}/_sim/projects/933`, { data: { state: "UNPAIRED" } });
  expect(unpaired.ok()).toBeTruthy();
  // A refresh shows it at once unless the 3-a-minute budget is spent; the poller then does.
  await c.getByRole("button", { name: "Refresh" }).click();
  await expect(c.locator(".badge")).toHaveText("Unpaired", { timeout: 40_000 });
  await expect(c.locator(".strip__seg").last()).toHaveClass(/strip__seg--unpaired/);
  // The change is the newest; a project that never changed is not "changed in the last hour"
  // (the first state seen at start is not a change).
  await page.getByLabel("Sort by").selectOption("change");
  await expect(page.locator("article.card h2").first()).toHaveText("Green Leaf Clinic");
  await page.getByLabel("Changed in the last hour").check();
  await expect(card(page, "Green Leaf Clinic")).toBeVisible();
  await expect(card(page, "Acme Support")).toHaveCount(0);
  await page.getByLabel("Changed in the last hour").uncheck();
  await expect(card(page, "Acme Support")).toBeVisible();
  // Lowest uptime first: a project that was never CONNECTED leads, one always connected trails.
  await page.getByLabel("Sort by").selectOption("uptime");
  await expect(page.locator("article.card .strip__uptime").first()).toHaveText("0.0 %");

  await c.getByRole("link", { name: "Green Leaf Clinic" }).click();
  await expect(page).toHaveURL(/\/projects\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Green Leaf Clinic");
  await expect(page.locator(".uptime__tile").first()).toContainText("Uptime, 24 hours");
  const newest = page.locator("ol.timeline li").first();
  await expect(newest).toContainText("Unpaired");
  await expect(newest).toContainText("from Timeout, for ");
  await expect(page.locator(".band__svg")).toHaveAttribute("aria-label", /Unpaired/);

  await page.getByRole("link", { name: "7 days" }).click();
  await expect(page).toHaveURL(/range=7d$/);
  await expect(page.getByRole("heading", { name: "States over the last 7 days" })).toBeVisible();
  await request.patch(`${SIM_URL}/_sim/projects/933`, { data: { state: "TIMEOUT" } });
});
