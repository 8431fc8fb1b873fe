import { test, expect } from "./fixtures";
import { card, signIn } from "./helpers";

const SIM_URL = "http://127.0.0.1:3110";

// A device goes down; two polls later (the start-up round, then two refreshes: a refresh is a
// poll too) it has an alert, which an operator acknowledges from the Alerts page.
// (Bella Pizza Orders, CONNECTED in the demo fleet: no other test refreshes it.)
test("an alert is acknowledged from the Alerts page, and the page says by whom", async ({ page, request }) => {
  test.setTimeout(60_000);
  await signIn(page);
  const down = await request.patch(`${SIM_URL}/_sim/projects/930`, { data: { state: "TIMEOUT" } });
  expect(down.ok()).toBeTruthy();
  const c = card(page, "Bella Pizza Orders");
  for (let i = 0; i < 2; i++) {
    await c.getByRole("button", { name: "Refresh" }).click();
    await expect(c.locator(".card__feedback")).toContainText("Refreshed: Timeout");
  }
  await page.getByRole("link", { name: "Alerts" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Alerts" })).toBeVisible();
  const row = page.locator("tr.alerts__row", { hasText: "Bella Pizza Orders" }).first();
  await expect(row).toContainText("Timeout");
  await expect(row).toContainText("Open");
  await row.getByRole("button", { name: /Acknowledge alert \d+ \(Bella Pizza Orders\)/ }).click();
  await expect(page.getByRole("status")).toContainText("acknowledged: its reminders stop");
  const after = page.locator("tr.alerts__row", { hasText: "Bella Pizza Orders" }).first();
  await expect(after).toContainText("Acknowledged by admin");
  await expect(after.getByRole("button", { name: /Acknowledge/ })).toHaveCount(0);
  await request.patch(`${SIM_URL}/_sim/projects/930`, { data: { state: "CONNECTED" } });
});
