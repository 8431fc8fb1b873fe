import { test, expect } from "./fixtures";
import { signIn } from "./helpers";

// The fleet page without a mouse: Tab to a card's commands, open them with Enter, arm and
// confirm a command with Enter, and hear the result. (Clear queue on Acme Support, whose
// queue is empty in the demo: nothing another test counts on changes.)
test("a command runs from the keyboard alone", async ({ page }) => {
  await signIn(page);
  const where = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      const card = el?.closest("article.card");
      return {
        text: (el?.textContent ?? "").trim(),
        tag: el?.tagName ?? "",
        card: card?.querySelector("h2")?.textContent?.trim() ?? "",
      };
    });
  const tabTo = async (wanted: (f: { text: string; tag: string; card: string }) => boolean, what: string) => {
    for (let i = 0; i < 250; i++) {
      await page.keyboard.press("Tab");
      if (wanted(await where())) return;
    }
    throw new Error(`Tab never reached ${what}`);
  };
  await tabTo((f) => f.card === "Acme Support" && f.tag === "SUMMARY", "Acme Support's commands");
  await page.keyboard.press("Enter");
  await tabTo((f) => f.card === "Acme Support" && f.tag === "BUTTON" && f.text === "Clear queue", "Clear queue");
  await page.keyboard.press("Enter");
  await expect.poll(async () => (await where()).text).toBe("Confirm: Clear queue?");
  await page.keyboard.press("Enter");
  await expect(page.locator(".toast--success")).toContainText("Clear queue sent to Acme Support");
});
