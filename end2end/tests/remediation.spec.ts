import { test, expect } from "./fixtures";
import { card, signIn } from "./helpers";

// The advice on a card says what to try, and its button opens the commands at that command,
// one click away, without running anything. (Sunrise Travel Desk is UNPAIRED in the demo.)
test("an unpaired card advises Restart app, and its button opens the commands without sending", async ({ page }) => {
  await signIn(page);
  const c = card(page, "Sunrise Travel Desk");
  const advice = c.getByRole("note");
  await expect(advice).toContainText("Restart app to show the QR code again");
  await expect(c.locator("details.commands")).not.toHaveAttribute("open", "");
  await advice.getByRole("link", { name: "Restart app…" }).click();
  await expect(c.locator("details.commands")).toHaveAttribute("open", "");
  await expect(c.getByRole("button", { name: "Restart app", exact: true })).toBeVisible();
  await expect(page.locator(".toast")).toHaveCount(0);
  await expect(page).not.toHaveURL(/commands=/);
});
