import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { signIn } from "./helpers";

// axe-core on every page, as each kind of visitor sees it, disclosures open: no violation of
// any impact. (Read-only: this file changes nothing the other tests count on.)
async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(" | ")}`);
  expect(found, `${what}: accessibility violations`).toEqual([]);
}

async function openAll(page: Page) {
  // Every <details> open, so the forms inside are checked too.
  await page.evaluate(() => document.querySelectorAll("details").forEach((d) => ((d as HTMLDetailsElement).open = true)));
}

test("the sign-in page has no accessibility violations", async ({ page }) => {
  await page.goto("/sign-in");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await noViolations(page, "sign-in");
});

test("every page an admin sees has no accessibility violations", async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page);
  await noViolations(page, "fleet");
  const first = page.locator("article.card").first();
  await first.getByText("Commands", { exact: true }).click();
  await noViolations(page, "fleet with a command panel open");
  const id = await first.getAttribute("data-project-id");
  for (const path of [
    "/alerts",
    "/audit",
    `/projects/${id}`,
    `/projects/${id}/connect-another-number`,
    `/batches/new?command=restart&ids=${id}`,
    "/admin/projects",
    "/admin/users",
  ]) {
    await page.goto(path);
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    await openAll(page);
    await noViolations(page, path);
  }
});

test("a viewer's pages and a bulk command's progress have no accessibility violations", async ({ page, browser, baseURL }) => {
  test.setTimeout(90_000);
  await signIn(page);
  const origin = { origin: baseURL ?? "" };
  // A viewer of its own, and a harmless bulk command (Clear queue on Acme Support, whose
  // queue is empty in the demo) for its progress page.
  const user = await page.request.post("/api/v1/users", {
    headers: origin,
    data: { username: "axel", role: "viewer", password: "axel-password-123" },
  });
  expect(user.ok(), await user.text()).toBeTruthy();
  const id = await page.locator("article.card", { hasText: "Acme Support" }).getAttribute("data-project-id");
  const batch = await page.request.post("/api/v1/batches", {
    headers: origin,
    data: { command: "delete-message-queue", project_ids: [Number(id)] },
  });
  expect(batch.ok(), await batch.text()).toBeTruthy();
  const { id: batchId } = await batch.json();
  await page.goto(`/batches/${batchId}`);
  await expect(page.locator(".batch__status")).toHaveAttribute("data-status", "finished", { timeout: 30_000 });
  await noViolations(page, "a bulk command's progress");

  const viewer = await (await browser.newContext({ baseURL })).newPage();
  await signIn(viewer, "axel", "axel-password-123");
  await noViolations(viewer, "fleet, as a viewer");
  for (const path of ["/alerts", "/audit", `/projects/${id}`, `/batches/${batchId}`]) {
    await viewer.goto(path);
    await expect(viewer.locator("body")).toHaveAttribute("data-hydrated", "true");
    await noViolations(viewer, `${path}, as a viewer`);
  }
});

test("in the dark theme, as an operator, the pages have no accessibility violations", async ({ page, browser, baseURL }) => {
  test.setTimeout(90_000);
  await signIn(page);
  const user = await page.request.post("/api/v1/users", {
    headers: { origin: baseURL ?? "" },
    data: { username: "olga", role: "operator", password: "olga-password-123" },
  });
  expect(user.ok(), await user.text()).toBeTruthy();

  // Dark chosen with the theme button (the cookie), and dark from the OS with none chosen.
  for (const how of ["cookie", "os"] as const) {
    const context = await browser.newContext({ baseURL, colorScheme: how === "os" ? "dark" : "light" });
    const operator = await context.newPage();
    await signIn(operator, "olga", "olga-password-123");
    if (how === "cookie") {
      await operator.getByRole("button", { name: /Theme: system/ }).click();
      await expect(operator.locator("html")).toHaveAttribute("data-theme", "dark");
    }
    await expect(operator.locator("body"), `dark by ${how}`).toHaveCSS("background-color", "rgb(13, 17, 23)");
    await noViolations(operator, `fleet, dark by ${how}`);
    const first = operator.locator("article.card").first();
    await first.getByText("Commands", { exact: true }).click();
    await noViolations(operator, `fleet with commands open, dark by ${how}`);
    await operator.getByRole("group", { name: "Layout" }).getByRole("button", { name: "List" }).click();
    await noViolations(operator, `fleet as a list, dark by ${how}`);
    const id = await first.getAttribute("data-project-id");
    for (const path of ["/alerts", "/audit", `/projects/${id}`]) {
      await operator.goto(path);
      await expect(operator.locator("body")).toHaveAttribute("data-hydrated", "true");
      await openAll(operator);
      await noViolations(operator, `${path}, dark by ${how}`);
    }
    await context.close();
  }
  const signedOut = await (await browser.newContext({ baseURL, colorScheme: "dark" })).newPage();
  await signedOut.goto("/sign-in");
  await expect(signedOut.locator("body")).toHaveAttribute("data-hydrated", "true");
  await noViolations(signedOut, "sign-in, dark");
});
