import { test, expect } from "./fixtures";
import { signIn } from "./helpers";

// Select by filter, confirm a destructive command by typing the count, watch the progress
// list fill, and reopen it from the audit log. Clear logs on the one UNPAIRED demo project
// (Sunrise Travel Desk) leaves it UNPAIRED, so no other test sees a change.
test("a bulk command by filter is confirmed, runs on the server, and reopens from the audit log", async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page);
  await page.getByRole("button", { name: /Unpaired/ }).click();
  await page.getByRole("button", { name: "Select all 1 shown" }).click();
  const bar = page.getByRole("form", { name: "Bulk command" });
  await expect(bar.getByRole("status")).toHaveText("1 project selected");
  // The selection stays when the filter changes.
  await page.getByRole("button", { name: /^\d+ All$/ }).click();
  await expect(page.getByLabel("Select Sunrise Travel Desk")).toBeChecked();
  await bar.locator("select").selectOption("clearlogs");
  await bar.getByRole("button", { name: "Review…" }).click();

  await expect(page.getByRole("heading", { name: "Clear logs on 1 project?" })).toBeVisible();
  await expect(page.locator(".batch__names")).toHaveText("Sunrise Travel Desk");
  await page.getByLabel("Type the number of projects (1) to confirm").fill("2");
  await page.getByRole("button", { name: "Clear logs 1 project" }).click();
  await expect(page.getByRole("alert")).toContainText("type the number of projects (1)");
  await page.getByLabel("Type the number of projects (1) to confirm").fill("1");
  await page.getByRole("button", { name: "Clear logs 1 project" }).click();

  await expect(page).toHaveURL(/\/batches\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Clear logs");
  await expect(page.locator(".batch__status")).toHaveAttribute("data-status", "finished", { timeout: 30_000 });
  const row = page.locator("tr", { hasText: "Sunrise Travel Desk" });
  await expect(row).toHaveAttribute("data-state", /sent|confirmed/);
  await expect(row).toContainText("Success");
  const here = page.url();

  await page.getByRole("link", { name: "All bulk commands" }).click();
  const auditRow = page.locator("tr", { hasText: "Bulk command" }).first();
  await expect(auditRow).toContainText("clearlogs");
  await auditRow.getByRole("link", { name: /^#\d+$/ }).click();
  await expect(page).toHaveURL(here);
});
