// The README's pictures, taken from the running app against its simulator, so they are never
// stale (`./x screenshots` builds, starts a fresh server and runs this):
//   node scripts/readme-pictures.mjs http://127.0.0.1:3200 admin PASSWORD ../end2end/screenshots
// Desktop (1280×800) and phone (390×844): the fleet in light and dark, a command's
// confirmation, a project's history and the audit log.
import { chromium } from "playwright";

const [base, user, password, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});

async function settle(page) {
  await page.waitForSelector("body[data-hydrated]");
  await page.waitForTimeout(300);
}

for (const [device, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
  for (const theme of ["light", "dark"]) {
    const context = await browser.newContext({ viewport, colorScheme: theme, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${base}/sign-in`);
    await settle(page);
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForSelector("article.card .badge:not([data-health=checking])");
    await settle(page);
    await page.screenshot({ path: `${out}/fleet-${theme}-${device}.png` });
    if (theme === "dark") {
      await context.close();
      continue;
    }
    const card = page.locator("article.card", { hasText: "Green Leaf Clinic" });
    await card.getByText("Commands", { exact: true }).click();
    await card.getByRole("button", { name: "Restart app", exact: true }).click();
    await card.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${out}/command-${device}.png` });
    const id = await card.getAttribute("data-project-id");
    for (const [name, path] of [["history", `/projects/${id}`], ["audit", "/audit"]]) {
      await page.goto(`${base}${path}`);
      await settle(page);
      await page.screenshot({ path: `${out}/${name}-${device}.png` });
    }
    await context.close();
  }
}
await browser.close();
