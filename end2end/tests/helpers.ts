import { expect, type Page } from "@playwright/test";

export const ADMIN_PASSWORD = "e2e-admin-password";

/** Signs in through the form and waits for the hydrated fleet page. */
export async function signIn(page: Page, username = "admin", password = ADMIN_PASSWORD) {
  await page.goto("/sign-in");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: /Fleet/ })).toBeVisible();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

export function card(page: Page, name: string) {
  return page.locator("article.card", { has: page.getByRole("heading", { name, exact: true }) });
}

/** Opens a card's command panel and runs a (non-destructive) command: arm, then confirm. */
export async function runCommand(page: Page, project: string, label: string) {
  const c = card(page, project);
  await c.getByText("Commands", { exact: true }).click();
  const button = c.getByRole("button", { name: label, exact: true });
  await button.click();
  await c.getByRole("button", { name: `Confirm: ${label}?` }).click();
}
