"""Keyboard and label checks shared by the browser tests: every control a keyboard reaches says
what it is, and Tab walks through visible controls."""

from __future__ import annotations

from typing import Any

# A link or button is named by its text or aria-label(ledby), a form field by a <label> or
# aria-label(ledby); an <img> by its alt. Returns the unnamed ones.
UNNAMED_JS = """() => {
  const named = (el) => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return true;
    if (['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)) return el.labels && el.labels.length > 0;
    return (el.textContent || '').trim().length > 0 || !!el.querySelector('img[alt]:not([alt=""])');
  };
  const focusable = document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]');
  const unnamed = Array.from(focusable)
    .filter((el) => el.getAttribute('tabindex') !== '-1' && el.type !== 'hidden' && !named(el));
  const images = Array.from(document.querySelectorAll('img')).filter((el) => !el.hasAttribute('alt'));
  return unnamed.concat(images).map((el) => el.outerHTML.slice(0, 120));
}"""


def assert_keyboard_ready(page: Any, stops: int = 6) -> None:
    """Every focusable control is named, and Tab walks through visible, named controls."""
    assert page.evaluate(UNNAMED_JS) == []
    reachable = page.evaluate("""() => Array.from(document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])'))
        .filter((el) => !el.disabled && el.getClientRects().length > 0).length""")
    page.locator("body").focus()
    seen = []
    for _ in range(min(stops, reachable)):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("""() => { const el = document.activeElement;
            const box = el.getBoundingClientRect();
            return [el.tagName, box.width > 0 && box.height > 0]; }"""))
    assert all(tag != "BODY" and visible for tag, visible in seen), seen
