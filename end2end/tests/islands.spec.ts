import { test, expect } from "./fixtures";
import { ADMIN_PASSWORD, signIn } from "./helpers";

// The pages render on the server and only their islands hydrate; the admin islands come from
// wasm chunks fetched on first use. These tests open each island's page directly and use it.
// (After fleet.spec.ts in file order: the project added here is not in its counts.)

test("the projects page, opened directly, adds a project and lists it", async ({ page }) => {
  await signIn(page);
  await page.goto("/admin/projects");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const form = page.locator("form", { has: page.getByRole("button", { name: "Add project" }) });
  await form.getByLabel("Name").fill("Island Test Desk");
  await form.getByLabel("API token").fill("e2e-island-token-0123456789abcdef");
  await form.getByRole("button", { name: "Add project" }).click();
  await expect(page.locator(".toast--success")).toBeVisible();
  await expect(page.locator("table")).toContainText("Island Test Desk");
  // The form was cleared by the island, not by a page load: the toast is still there.
  await expect(form.getByLabel("Name")).toHaveValue("");
  await expect(page.locator(".toast--success")).toBeVisible();
});

test("the users page, opened directly, creates an API key and shows it once", async ({ page }) => {
  await signIn(page);
  await page.goto("/admin/users");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const form = page.locator("form", { has: page.getByRole("button", { name: "Create API key" }) });
  // Enabled only once the island runs (the key is shown on this page, never again).
  await expect(form.getByRole("button", { name: "Create API key" })).toBeEnabled();
  await form.getByLabel("User").selectOption("admin");
  await form.getByLabel("Label").fill("island test key");
  await form.getByRole("button", { name: "Create API key" }).click();
  const key = page.getByLabel("The new API key");
  await expect(key).toHaveValue(/^pf_/);
  await expect(page.locator("table").last()).toContainText("island test key");
  // Reloaded, the page lists the key but no longer shows it.
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator("table").last()).toContainText("island test key");
  await expect(page.getByLabel("The new API key")).toHaveCount(0);
});

test("sign out is a plain form: it ends the session and the fleet asks for a sign-in again", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/audit");
  await expect(page).toHaveURL(/\/sign-in\?next=\/audit$/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
});

test("an island whose session ends sends the browser to the sign-in page and back", async ({ page, context }) => {
  await signIn(page);
  await page.goto("/admin/projects");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await context.clearCookies();
  // The add fails (no session), and the list it reloads answers 401: the island redirects.
  const form = page.locator("form", { has: page.getByRole("button", { name: "Add project" }) });
  await form.getByLabel("Name").fill("Never Added");
  await form.getByLabel("API token").fill("e2e-never-added-0123456789abcdef");
  await form.getByRole("button", { name: "Add project" }).click();
  await expect(page).toHaveURL(/\/sign-in\?next=\/admin\/projects$/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/admin\/projects$/);
  await expect(page.locator("table")).toContainText("Island Test Desk");
  await expect(page.locator("table")).not.toContainText("Never Added");
});
