import { test, expect } from "./fixtures";
import { ADMIN_PASSWORD, card, runCommand, signIn } from "./helpers";

test("a wrong password shows an error and does not sign in", async ({ page }) => {
  await page.goto("/sign-in");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("Wrong username or password");
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in/);
});

test("the fleet page lists the demo projects with their state", async ({ page }) => {
  await signIn(page);
  await expect(page.locator("article.card")).toHaveCount(6);
  await expect(page.locator('.badge[data-health="checking"]')).toHaveCount(0, { timeout: 15_000 });
  await expect(card(page, "Green Leaf Clinic").locator(".badge")).toHaveText("Timeout");
  await expect(card(page, "Sunrise Travel Desk").locator(".badge")).toHaveText("Unpaired");
  await expect(page.getByRole("group", { name: "Filter by state" })).toContainText("Connected");
  // No token, nor any piece of one, is on the page: only the masked hint.
  await expect(card(page, "Acme Support").locator(".card__token")).toHaveText(/^••••[0-9a-f]{4}$/);
});

test("filters by state and searches by name", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: /Unpaired/ }).click();
  await expect(page.locator(".grid__cell:visible")).toHaveCount(1);
  await page.getByRole("button", { name: /All/ }).click();
  await page.getByLabel("Search projects by name").fill("pizza");
  await expect(page.locator(".grid__cell:visible")).toHaveCount(1);
  await expect(page.locator(".grid__cell:visible")).toContainText("Bella Pizza Orders");
});

test("after hydration a refresh click calls the server and updates the card", async ({ page }) => {
  await signIn(page);
  const c = card(page, "Acme Support");
  await c.getByRole("button", { name: "Refresh" }).click();
  await expect(c.locator(".card__feedback")).toContainText(/Refreshed: \w+|next refresh possible in \d+ s/);
  await expect(page).toHaveURL(/\/$/);
});

test("a command in one tab changes the card live in another", async ({ context }) => {
  const watcher = await context.newPage();
  await signIn(watcher);
  const actor = await context.newPage();
  await actor.goto("/");
  await expect(actor.locator("body")).toHaveAttribute("data-hydrated", "true");
  const watched = card(watcher, "City Dental Reminders");
  await expect(watched.locator(".badge")).toHaveText("Connected");
  await runCommand(actor, "City Dental Reminders", "Restart app");
  await expect(actor.locator(".toast--success")).toContainText("Restart app sent to City Dental Reminders");
  // The verification poll after the command reaches the watcher over Server-Sent Events.
  await expect(watched.locator(".badge")).toHaveText("Timeout", { timeout: 15_000 });
});

test("clearing the queue empties it and the audit log shows the command", async ({ page }) => {
  await signIn(page);
  const c = card(page, "Northwind Logistics");
  await expect(c.locator(".card__queue")).not.toHaveText("0");
  await runCommand(page, "Northwind Logistics", "Clear queue");
  await expect(page.locator(".toast--success")).toContainText("Clear queue sent to Northwind Logistics");
  await expect(c.locator(".card__queue")).toHaveText("0", { timeout: 15_000 });
  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page.locator("table")).toContainText("delete-message-queue");
  await expect(page.locator("table")).toContainText("Northwind Logistics");
});

test("a destructive command needs the project name typed out", async ({ page }) => {
  await signIn(page);
  const c = card(page, "Sunrise Travel Desk");
  await c.getByText("Commands", { exact: true }).click();
  const form = c.locator("form.command", { has: page.locator('[data-command="clearlogs"]') });
  await form.getByRole("textbox").fill("sunrise");
  await form.getByRole("button", { name: "Clear logs" }).click();
  await expect(page.locator(".toast--error")).toContainText('Type "Sunrise Travel Desk" exactly');
  await form.getByRole("textbox").fill("Sunrise Travel Desk");
  await form.getByRole("button", { name: "Clear logs" }).click();
  await expect(page.locator(".toast--success")).toContainText("Clear logs sent to Sunrise Travel Desk");
});

test("pages hydrate under a script policy that allows only our files and this page's nonce", async ({
  browser,
  baseURL,
}) => {
  // A context of its own: this test provokes a refusal on purpose, which the shared fixture
  // would count as a failure.
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(`${baseURL}/sign-in`);
  const policy = response?.headers()["content-security-policy"] ?? "";
  expect(policy).toMatch(/script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
  expect(policy).not.toContain("unsafe-inline");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  // An inline script without the nonce (what an injected payload would be) does not run.
  const ran = await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.__injected = true";
    document.body.appendChild(script);
    return (window as unknown as { __injected?: boolean }).__injected === true;
  });
  expect(ran).toBe(false);
  await context.close();
});

test("without JavaScript a card's commands open on their own page load and post as forms", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/sign-in");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: /Fleet/ })).toBeVisible();

  const c = card(page, "Bella Pizza Orders");
  await c.getByText("Commands", { exact: true }).click();
  await c.getByRole("link", { name: "Show the commands" }).click();
  await expect(page).toHaveURL(/\?commands=\d+/);
  const opened = card(page, "Bella Pizza Orders");
  await expect(opened.locator("details.commands")).toHaveAttribute("open", "");
  // A plain form post: no confirmation step without JavaScript, the server runs it.
  await opened.locator('form.command:has([data-command="restart"])').getByRole("button").click();
  await page.goto("/audit");
  const row = page.locator("tbody tr", { hasText: "Bella Pizza Orders" }).first();
  await expect(row).toContainText("restart");
  await expect(row).toContainText("admin");
  await context.close();
});

// Last in the file: it adds 60 projects, which the tests above do not expect.
test("in a big fleet, cards beyond the first ones load when the search or 'Show all' brings them in", async ({
  page,
}) => {
  await signIn(page);
  const origin = new URL(page.url()).origin;
  for (let n = 1; n <= 60; n++) {
    const response = await page.request.post("/api/v1/projects", {
      headers: { origin },
      data: { name: `Zz Bulk ${String(n).padStart(2, "0")}`, token: `e2e-bulk-token-${n}-0123456789abcdef` },
    });
    expect(response.status(), await response.text()).toBe(201);
  }
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  // 66 projects: the page renders the first 24 in full and knows the rest in brief.
  await expect(page.locator("article.card")).toHaveCount(24);
  await expect(page.getByRole("button", { name: "Show all 66" })).toBeVisible();

  // "Show 24 more" adds cards the page knows only in brief: they load.
  await page.getByRole("button", { name: "Show 24 more" }).click();
  await expect(page.locator("article.card:not(.card--loading)")).toHaveCount(48);

  // The last project is past those: the search finds it, and its card loads.
  await page.getByLabel("Search projects by name").fill("zz bulk 60");
  const last = card(page, "Zz Bulk 60");
  await expect(last.locator(".card__token")).toHaveText(/^••••[0-9a-f]{4}$/);
  await expect(last.locator(".badge")).toBeVisible();
  await expect(page.locator(".card--loading")).toHaveCount(0);

  await page.getByLabel("Search projects by name").fill("");
  await page.getByRole("button", { name: "Show all 66" }).click();
  await expect(page.locator("article.card:not(.card--loading)")).toHaveCount(66);
});
