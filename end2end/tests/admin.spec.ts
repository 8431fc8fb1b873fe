import { test, expect } from "./fixtures";
import { signIn } from "./helpers";

test("an admin adds a viewer, who sees the fleet but no command buttons", async ({ page, browser }) => {
  await signIn(page);
  await page.getByRole("link", { name: "Users" }).click();
  // A page load: wait for its island, or typing may land before hydration resets the fields.
  await expect(page).toHaveURL(/\/admin\/users$/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const form = page.locator("form", { has: page.getByRole("button", { name: "Add user" }) });
  await form.getByLabel("Username").fill("vera");
  await form.getByLabel("Role").selectOption("viewer");
  await form.getByLabel("Password").fill("vera-password-1");
  await form.getByRole("button", { name: "Add user" }).click();
  await expect(page.locator("table")).toContainText("vera");

  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await signIn(viewer, "vera", "vera-password-1");
  await expect(viewer.locator("article.card")).toHaveCount(6);
  await expect(viewer.getByText("Commands", { exact: true })).toHaveCount(0);
  await expect(viewer.locator("[data-command]")).toHaveCount(0);
  await expect(viewer.getByRole("link", { name: "Users" })).toHaveCount(0);
  await viewerContext.close();
});
